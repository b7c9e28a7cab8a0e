// _static/widgets/loader.js of the site: loaded only on a page whose notebook stored widget
// state, after require.js and before the widget manager (grubook_sphinx.py beside this file
// lists the three, and copies them there). It points require.js at the site's copy of
// anywidget's front end, beside this file, instead of a CDN; and at embed-amd.js for the modules
// that file defines, so that they find the icon fonts beside it.
// A widget module the site does not have fails to load from this site too (a 404 that the
// browser test sees) rather than leaving it: the manager falls back to the address in
// data-jupyter-widgets-cdn.
(function () {
  var widgets = new URL("./", document.currentScript.src).href;
  var manager = widgets + "embed-amd";
  window.requirejs.config({
    paths: {
      anywidget: widgets + "anywidget",
      "@jupyter-widgets/base": manager,
      "@jupyter-widgets/base7": manager,
      "@jupyter-widgets/controls": manager,
      "@jupyter-widgets/controls7": manager,
      "@jupyter-widgets/html-manager": manager,
      "@jupyter-widgets/html-manager/dist/libembed-amd": manager,
    },
  });
  document.currentScript.setAttribute("data-jupyter-widgets-cdn", widgets + "not-on-this-site/");
})();
