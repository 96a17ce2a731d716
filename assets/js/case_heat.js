// A Leaflet.heat layer of case locations; the plugin is loaded on demand (runtime.js, need).
//   parent  the feature group
//   config  {layerKey, js, options}   options: L.heatLayer's (radius, blur, ...)
//   points  [[lat, lon], ...] or [[lat, lon, weight], ...]
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.caseHeat = window.gridpulse.caseHeat || function (parent, config, points) {
    var layer = L.featureGroup();
    layer.addTo(parent);
    window.gridpulse.need(
        function () { return typeof L.heatLayer === "function"; },
        config.js, [],
        function () {
            layer.addLayer(L.heatLayer(points, config.options));
            window.gridpulse.ready(config.layerKey, points.length);
        }
    );
    return layer;
};
