// The colour legend as a Leaflet control that comes and goes with its feature group
// (streamlit-folium removes the groups when the layers change).
//   parent  the feature group
//   config  {html, position, boxStyle}
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.legend = window.gridpulse.legend || function (parent, config) {
    var layer = new (L.Layer.extend({
        onAdd: function (map) {
            this._control = L.control({position: config.position});
            this._control.onAdd = function () {
                var box = L.DomUtil.create("div", "gridpulse-legend-box");
                box.style.cssText = config.boxStyle;
                box.innerHTML = config.html;
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
