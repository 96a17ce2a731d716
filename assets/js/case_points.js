// Open cases as circle markers (overdue red, new ones ringed gold), optionally in a
// Leaflet.markercluster group whose clusters turn red when they hold an overdue case.
// The cluster plugin is loaded on demand (runtime.js, need).
//   parent  the feature group
//   config  {layerKey, cluster, clusterRadius, pane, js, css, openStyle, overdueStyle, newStyle}
//   rows    [[lat, lon, overdue 0/1, tooltip text or null, new 0/1], ...]
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.casePoints = window.gridpulse.casePoints || function (parent, config, rows) {
    var layer = L.featureGroup();
    layer.addTo(parent);
    window.gridpulse.need(
        function () { return !config.cluster || typeof L.markerClusterGroup === "function"; },
        config.js, config.css,
        function () {
            var markers = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i];
                var opts = Object.assign({pane: config.pane}, r[2] ? config.overdueStyle : config.openStyle);
                if (r[4]) { Object.assign(opts, config.newStyle); }
                opts.gpOverdue = r[2] === 1;
                var m = L.circleMarker([r[0], r[1]], opts);
                if (r[3]) { m.bindTooltip(window.gridpulse.text("span", r[3])); }  // text, not HTML
                markers[i] = m;
            }
            if (config.cluster) {
                var group = L.markerClusterGroup({
                    chunkedLoading: true,
                    showCoverageOnHover: false,
                    maxClusterRadius: config.clusterRadius,
                    iconCreateFunction: function (cluster) {
                        var ms = cluster.getAllChildMarkers(), n = ms.length, o = 0;
                        for (var j = 0; j < ms.length; j++) { if (ms[j].options.gpOverdue) { o++; } }
                        var size = n < 10 ? "small" : (n < 100 ? "medium" : "large");
                        var style = o ? ' style="background-color:rgba(215,25,28,0.85);color:#fff"' : "";
                        return new L.DivIcon({
                            html: "<div" + style + "><span>" + n + "</span></div>",
                            className: "marker-cluster marker-cluster-" + size,
                            iconSize: new L.Point(40, 40)
                        });
                    }
                });
                group.addLayers(markers);
                layer.addLayer(group);
            } else {
                for (var k = 0; k < markers.length; k++) { layer.addLayer(markers[k]); }
            }
            window.gridpulse.ready(config.layerKey, rows.length);
        }
    );
    return layer;
};
