// Swagger UI over every spec this server mounts (the list comes from the page, server-rendered).
// No validator badge: it would call a public service, and the page must work offline.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("docs-config").textContent);
  window.ui = SwaggerUIBundle({
    urls: config.urls,
    "urls.primaryName": config.primary,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
  });
})();
