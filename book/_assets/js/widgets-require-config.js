// Loaded before require.js on pages with widgets (nb_ipywidgets_js in _config.yml).
//
// embed-amd.js defines its modules by name (@jupyter-widgets/controls, ...), so
// require.js gives them addresses relative to the page, and each bundle then looks for
// its Font Awesome fonts beside that address, where there are none. Mapping the names to
// the folder that holds embed-amd.js makes the fonts load from the book's own copy,
// whatever the page's depth.
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (!here) {
    return;
  }
  var dist = here.slice(0, here.lastIndexOf("/") + 1) + "html-manager/dist/";
  var names = ["base", "base7", "controls", "controls7", "html-manager"];
  var paths = {"@jupyter-widgets/html-manager/dist/libembed-amd": dist + "libembed-amd"};
  for (var i = 0; i < names.length; i++) {
    paths["@jupyter-widgets/" + names[i]] = dist + names[i];
  }
  // require.js reads a global `require` object defined before it loads as its config.
  window.require = {paths: paths};
})();
