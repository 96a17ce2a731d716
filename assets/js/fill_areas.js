// Areas from a packed payload (runtime.js decodes it), styled by ONE function that reads
// feature.properties.fill, low and selected (folium's style_function would emit a switch
// with one case per feature).
//   parent  not used: folium's Layer adds the returned layer to it
//   config  {layerKey, count, baseStyle, lowStyle, selectedStyle, highlightStyle, tooltip,
//            options}
//           highlightStyle null: no hover; tooltip: [[property, label], ...] rows of the
//           hover tooltip, [] for none; options: further L.geoJson options (pane, ...)
//   packed  the payload of geo/maps/payload.py
// The tooltip is built as DOM text (runtime.js, text): folium's GeoJsonTooltip writes the
// properties into innerHTML, so an area named like an image tag with an onerror handler
// ran its script.
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.fillAreas = window.gridpulse.fillAreas || function (parent, config, packed) {
    var layer = L.geoJson(null, Object.assign({
        style: function (feature) {
            var s = Object.assign({}, config.baseStyle);
            var p = feature.properties || {};
            if (p.fill) { s.fillColor = p.fill; }
            if (p.low) { Object.assign(s, config.lowStyle); }
            if (p.selected) { Object.assign(s, config.selectedStyle); }
            return s;
        }
    }, config.options));
    if (config.highlightStyle) {
        // one pair of listeners on the group (child events bubble up), not two per feature
        layer.on({
            mouseover: function (e) {
                e.layer.setStyle(config.highlightStyle);
                if (e.layer.bringToFront) { e.layer.bringToFront(); }
            },
            mouseout: function (e) { layer.resetStyle(e.layer); }
        });
    }
    if (config.tooltip.length) {
        layer.bindTooltip(function (area) {
            var p = area.feature.properties || {}, table = document.createElement("table");
            table.style.margin = "auto";
            config.tooltip.forEach(function (row) {
                var tr = document.createElement("tr");
                tr.style.textAlign = "left";
                window.gridpulse.text("th", row[1], tr).style.padding = "2px 8px 2px 2px";
                window.gridpulse.text("td", p[row[0]], tr);
                table.appendChild(tr);
            });
            return table;
        }, {sticky: true, className: "gridpulse-tooltip"});
    }
    window.gridpulse.afterView(function () {
        layer.addData(window.gridpulse.decode(packed));
        window.gridpulse.ready(config.layerKey, config.count);
    });
    return layer;
};
