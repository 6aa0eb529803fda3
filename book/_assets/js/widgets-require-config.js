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

// The widget manager typesets the text of widgets with MathJax 2's API,
// `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`, whenever `window.MathJax`
// exists; the book serves MathJax 3, which has no `Hub`, so each labelled widget threw
// "Cannot read properties of undefined (reading 'Queue')". MathJax 3 replaces
// `window.MathJax` with its own object when it loads, so give every MathJax object
// that has a version a small `Hub` whose `Queue` hands the element to MathJax 3's
// `typesetPromise`.
(function () {
  var hub = {
    Queue: function (job) {
      var mathjax = window.MathJax;
      if (job && job[0] === "Typeset" && mathjax && mathjax.typesetPromise) {
        mathjax.typesetPromise([job[2]]).catch(function () {});
      }
    },
  };
  function withHub(value) {
    if (value && typeof value === "object" && value.version && !value.Hub) {
      value.Hub = hub;
    }
    return value;
  }
  var current = withHub(window.MathJax);
  try {
    Object.defineProperty(window, "MathJax", {
      configurable: true,
      enumerable: true,
      get: function () {
        return current;
      },
      set: function (value) {
        current = withHub(value);
      },
    });
  } catch (error) {
    // A browser that refuses the property keeps the original behaviour.
  }
})();
