// The colour legend as a Leaflet control that comes and goes with its feature group
// (streamlit-folium removes the groups when the layers change). Built as DOM text
// (runtime.js, text), so no label reaches innerHTML.
//   parent  the feature group
//   config  {title, entries, position, boxStyle}   entries: [[colour, label], ...]
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.legend = window.gridpulse.legend || function (parent, config) {
    var g = window.gridpulse;
    var layer = new (L.Layer.extend({
        onAdd: function (map) {
            this._control = L.control({position: config.position});
            this._control.onAdd = function () {
                var box = L.DomUtil.create("div", "gridpulse-legend-box");
                box.style.cssText = config.boxStyle;
                var legend = L.DomUtil.create("div", "gridpulse-legend", box);
                legend.style.fontSize = "0.85rem";
                if (config.title) {
                    g.text("div", config.title, legend).style.cssText = "font-weight:600;margin-bottom:4px";
                }
                config.entries.forEach(function (entry) {
                    var row = L.DomUtil.create("div", "", legend);
                    row.style.cssText = "display:flex;align-items:center;gap:6px;margin:2px 0";
                    var swatch = L.DomUtil.create("span", "", row);
                    swatch.style.cssText = "display:inline-block;width:18px;height:12px;border:1px solid #999";
                    swatch.style.background = entry[0];
                    g.text("span", entry[1], row);
                });
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                return box;
            };
            this._control.addTo(map);
        },
        onRemove: function () {
            if (this._control) { this._control.remove(); this._control = null; }
        }
    }))();
    layer.addTo(parent);
    return layer;
};
