/* The sandbox provider's browser SDK: what Stripe.js, Mercado Pago's MercadoPago.js and
 * PagBank's SDK are to their providers. A shop page loads it with
 *   <script src="/sandbox-provider/v1/sandbox.js" defer></script>
 * (no inline script: it works under `script-src 'self'; connect-src 'self'`), and marks its
 * card form:
 *   <form method="post" action="/the-shop/checkout" data-sandbox-card-form>
 *     <input data-sandbox-card="card_number">  (card inputs have NO name attribute, so the
 *     <input data-sandbox-card="expiry">        browser never submits them to the shop,
 *     <input data-sandbox-card="cvc">           with or without this script)
 *     <input data-sandbox-card="holder">
 *     <input type="hidden" name="card_token">
 *     <p data-sandbox-card-error></p>
 *   </form>
 * On submit the card fields go to the sandbox's tokenization endpoint (never to the shop),
 * the token comes back into `card_token`, the card fields are emptied, and the form is
 * submitted with the token only. `EcoSandbox.createToken({card_number, expiry, cvc,
 * holder})` returns a Promise of `{card_token, brand, last4}` for pages that post by script.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var TOKENS = (script && script.getAttribute("data-tokenization-url")) ||
    "/api/v1/payments/sandbox/tokens";
  var FIELDS = ["card_number", "expiry", "cvc", "holder"];

  function createToken(card) {
    var body = { public_key: "pk_sandbox" };
    FIELDS.forEach(function (name) { body[name] = String(card[name] || "").trim(); });
    body.card_number = body.card_number.replace(/[\s-]/g, "");
    return fetch(TOKENS, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.status !== 201) {
          var error = new Error(answer.detail || "the card was not accepted");
          error.status = response.status;
          throw error;
        }
        return answer;
      });
    });
  }

  function attach(form) {
    var tokenInput = form.querySelector('input[name="card_token"]');
    var errorBox = form.querySelector("[data-sandbox-card-error]");
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sandbox-tokenized") === "yes") { return; }
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      var card = {};
      var inputs = form.querySelectorAll("[data-sandbox-card]");
      Array.prototype.forEach.call(inputs, function (input) {
        card[input.getAttribute("data-sandbox-card")] = input.value;
      });
      if (errorBox) { errorBox.textContent = ""; }
      createToken(card).then(function (made) {
        tokenInput.value = made.card_token;
        Array.prototype.forEach.call(inputs, function (input) { input.value = ""; });
        form.setAttribute("data-sandbox-tokenized", "yes");
        form.submit();
      }, function (error) {
        busy = false;
        if (errorBox) { errorBox.textContent = error.message; }
      });
    });
  }

  window.EcoSandbox = { createToken: createToken };
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sandbox-card-form]"), attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
