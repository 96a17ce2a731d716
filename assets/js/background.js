// The plain background colour of a map without tiles, and a metric-only scale bar
// (folium's also shows miles).
//   parent  the map
//   config  {color}
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.background = window.gridpulse.background || function (map, config) {
    map.getContainer().style.background = config.color;
    L.control.scale({imperial: false}).addTo(map);
};
