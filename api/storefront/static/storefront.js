// EcoVarejo storefront: small enhancements over pages that work without JavaScript.
// No inline script anywhere (CSP script-src 'self'); htmx does the partial updates.
(function () {
  "use strict";

  // The cookie notice hides once a choice is stored (the choice cookie is not HttpOnly).
  var notice = document.getElementById("cookie-notice");
  if (notice && /(?:^|; )ev_shop_consent=/.test(document.cookie)) {
    notice.classList.add("hidden");
  }

  // The service worker: static files and recently viewed catalog pages for offline use.
  var sw = document.body && document.body.getAttribute("data-sw");
  if (sw && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(sw, { scope: "/loja" }).catch(function () {});
  }

  // htmx's polling answer "HX-Refresh" reloads the page when the order moved on.

  // Paying: one submit only (the server also refuses a second order for the same cart);
  // a card is tokenized by the provider first: its fields have no name and never reach us.
  var form = document.getElementById("pay-form");
  if (!form) { return; }
  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    var method = form.querySelector("input[name=method]:checked");
    if (!method || method.value !== "card") { sent = true; lock(); return; }
    var token = document.getElementById("card-token");
    if (token.value) { sent = true; lock(); return; }
    event.preventDefault();
    if (form.getAttribute("data-raw") !== "yes") { return; }  // another provider's SDK (h29)
    var body = {
      card_number: value("c-number").replace(/\s+/g, ""),
      expiry: value("c-expiry"),
      cvc: value("c-cvc"),
      holder: value("c-holder")
    };
    fetch(form.getAttribute("data-token-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit"
    }).then(function (answer) {
      return answer.ok ? answer.json() : null;
    }).then(function (made) {
      token.value = made && made.card_token ? made.card_token : "refused";
      sent = true;
      lock();
      form.submit();
    }).catch(function () {
      token.value = "refused";
      form.submit();
    });
  });

  function value(id) {
    var field = document.getElementById(id);
    return field ? field.value.trim() : "";
  }

  function lock() {
    var button = document.getElementById("pay");
    if (button) { button.setAttribute("aria-disabled", "true"); }
  }
})();
