// Sets L.Icon.Default.imagePath before any marker is created.
//
// Leaflet finds its default marker images through a rule of leaflet.css. streamlit-folium
// appends the stylesheets without waiting for them and runs the map script at once, so the
// rule is not applied yet, Leaflet falls back to the leaflet.css URL minus the file name,
// drops images/ and every default marker icon 404s (Leaflet/Leaflet#4968,
// streamlit-folium#275).
//   parent  the map
//   config  {imagePath}
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.iconImagePath = window.gridpulse.iconImagePath || function (map, config) {
    L.Icon.Default.imagePath = config.imagePath;
};
