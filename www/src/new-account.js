// Self-signed relays: a QR code cannot carry a ready-made invite, because the
// app would refuse the certificate. Ask the relay for a fresh account instead
// and show the dclogin: link it returns, which tells the app to accept it.
(function () {
  var button = document.getElementById("new-account");
  var result = document.getElementById("new-account-result");
  if (!button || !result) return;
  button.addEventListener("click", function () {
    button.disabled = true;
    result.hidden = false;
    result.textContent = "Asking the relay for a new address…";
    fetch("/new")
      .then(function (r) {
        if (!r.ok) throw new Error("the relay answered " + r.status);
        return r.json();
      })
      .then(function (data) {
        if (!data.dclogin_url) throw new Error("the relay sent no login link");
        var link = document.createElement("a");
        link.className = "button";
        link.href = data.dclogin_url;
        link.textContent = "Open " + data.email + " in Delta Chat";
        result.textContent = "";
        result.appendChild(link);
        button.hidden = true;
      })
      .catch(function (e) {
        result.textContent = "No account was created: " + e.message + ". Please try again later.";
        button.disabled = false;
      });
  });
})();
