(function () {
	"use strict";
	// The processing page's check: asks the status URL every few seconds
	// and, once the payment is confirmed, says so in the live region and
	// moves on. It stops after a while: some payment methods take days.
	var box = document.getElementById("payment-check");
	if (!box || !window.fetch) {
		return;
	}
	var statusURL = box.getAttribute("data-status-url");
	var nextURL = box.getAttribute("data-next-url");
	var every = Number(box.getAttribute("data-every")) * 1000;
	var stopAt = Date.now() + Number(box.getAttribute("data-stop-after")) * 1000;
	var note = document.getElementById("payment-check-note");
	var live = document.getElementById("payment-check-status");
	if (!statusURL || !nextURL || !(every > 0) || !live) {
		return;
	}
	if (note) {
		note.hidden = false;
	}
	box.setAttribute("data-state", "checking");

	function later() {
		if (Date.now() + every > stopAt) {
			if (note) {
				note.hidden = true;
			}
			live.textContent = box.getAttribute("data-stopped-text");
			box.setAttribute("data-state", "stopped");
			return;
		}
		setTimeout(check, every);
	}

	function check() {
		fetch(statusURL, {credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}})
			.then(function (r) {
				return r.ok ? r.json() : {};
			})
			.then(function (s) {
				if (s && s.state === "paid") {
					live.textContent = box.getAttribute("data-confirmed-text");
					box.setAttribute("data-state", "confirmed");
					// Time for a screen reader to say it before the page changes.
					setTimeout(function () {
						window.location.assign(nextURL);
					}, 2000);
					return;
				}
				later();
			}, later);
	}

	setTimeout(check, every);
})();
