// Stops streamlit-folium (0.27) from rerunning the whole script once per page load.
//
// When the map mounts, the component compares its click state with the default value sent
// from Python and reports it to Streamlit if they differ. Python's default has
// last_object_clicked_count: None but the browser starts the counter at 0, so every page
// load (and every viewer) cost one extra script run, sent while the polygons were being
// drawn. Starting the counter at null makes the two equal; the first click still counts as
// 1 (null + 1), so clicks are recognised as before. The map script runs after the
// component has set up __GLOBAL_DATA__ and before it first reports.
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.noMountRerun = window.gridpulse.noMountRerun || function () {
    if (window.__GLOBAL_DATA__ && window.__GLOBAL_DATA__.last_object_clicked_count === 0) {
        window.__GLOBAL_DATA__.last_object_clicked_count = null;
    }
};
