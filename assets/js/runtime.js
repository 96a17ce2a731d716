// Shared helpers of the GridPulse map layers (window.gridpulse), embedded with each layer.
// Every layer also records window.gridpulse.layers[name] = {count, added, painted}
// (painted two animation frames after the data was added) and window.gridpulse.last,
// for browser tests and the benchmark.
window.gridpulse = window.gridpulse || {layers: {}};

// Data as text, never as HTML: a new <tag> element whose textContent is `text` (null and
// undefined as ""), appended to `parent` when given. Area names, case labels and every
// other imported string reach the map only through this function (the component's iframe
// is same-origin with the app, so markup from data would run with the app's rights).
window.gridpulse.text = window.gridpulse.text || function (tag, text, parent) {
    var el = document.createElement(tag);
    el.textContent = text === null || text === undefined ? "" : String(text);
    if (parent) { parent.appendChild(el); }
    return el;
};

// The packed payload of geo/maps/payload.py back to a plain GeoJSON FeatureCollection:
// columnar properties, fill colours as palette indexes, rings as integer deltas.
window.gridpulse.decode = window.gridpulse.decode || function (p) {
    var feats = new Array(p.n), keys = Object.keys(p.cols), bools = {}, i, k;
    for (i = 0; i < p.bools.length; i++) { bools[p.bools[i]] = true; }
    for (i = 0; i < p.n; i++) {
        var props = Object.assign({}, p.consts);
        for (k = 0; k < keys.length; k++) {
            var v = p.cols[keys[k]][i];
            if (v !== null && v !== undefined) { props[keys[k]] = bools[keys[k]] ? v === 1 : v; }
        }
        if (p.fill[i] >= 0) { props.fill = p.palette[p.fill[i]]; }
        var g = p.geom[i], polys = [];
        if (g !== null) {
            for (var a = 0; a < g.length; a++) {
                var rings = [];
                for (var b = 0; b < g[a].length; b++) {
                    var r = g[a][b], out = [], x = 0, y = 0;
                    for (var c = 0; c < r.length; c += 2) {
                        x += r[c]; y += r[c + 1];
                        out.push([x / p.q, y / p.q]);
                    }
                    if (out.length) { out.push(out[0]); }
                    rings.push(out);
                }
                polys.push(rings);
            }
        }
        feats[i] = {
            type: "Feature", id: props.code, properties: props,
            geometry: g === null ? null : (polys.length === 1
                ? {type: "Polygon", coordinates: polys[0]}
                : {type: "MultiPolygon", coordinates: polys})
        };
    }
    return {type: "FeatureCollection", features: feats};
};

// Load a plugin's scripts (in order) and styles once, then call done: streamlit-folium
// loads a map's scripts only when it first mounts the map, and a case layer usually
// arrives later.
window.gridpulse.need = window.gridpulse.need || function (test, js, css, done) {
    var g = window.gridpulse;
    g.loading = g.loading || {};
    if (test()) { done(); return; }
    css.forEach(function (href) {
        if (!document.querySelector('link[href="' + href + '"]')) {
            var l = document.createElement("link");
            l.rel = "stylesheet"; l.href = href;
            document.head.appendChild(l);
        }
    });
    var i = 0;
    (function next() {
        if (i >= js.length) { done(); return; }
        var src = js[i++];
        if (!g.loading[src]) {
            g.loading[src] = new Promise(function (resolve, reject) {
                var s = document.createElement("script");
                s.src = src; s.onload = resolve; s.onerror = reject;
                document.head.appendChild(s);
            });
        }
        g.loading[src].then(next, function () { console.error("gridpulse: cannot load " + src); });
    })();
};

// streamlit-folium adds the layers, then moves the view to the one the page asked for:
// adding the areas after that (a microtask: once the component's synchronous render is
// done) projects and draws them once, not at the base map's view and again at the new one.
window.gridpulse.afterView = window.gridpulse.afterView || function (fn) {
    Promise.resolve().then(fn);
};

window.gridpulse.ready = window.gridpulse.ready || function (name, count) {
    var rec = {count: count, added: performance.now(), painted: null};
    window.gridpulse.layers[name] = rec;
    L.Util.requestAnimFrame(function () {
        L.Util.requestAnimFrame(function () {
            rec.painted = performance.now();
            window.gridpulse.last = name;
        });
    });
};
