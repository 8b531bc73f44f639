/* Mounts the chat widget (rasa-webchat, served from this origin) and makes it accessible.
 *
 * Configuration comes from a JSON block on the page, so the page needs no inline script and its
 * Content-Security-Policy can forbid them:
 *   <script type="application/json" id="dit-assistant-config">{"socketUrl": "..."}</script>
 *   <script src="https://ASSISTANT-HOST/assets/dit-widget.js" defer></script>
 * The widget bundle is loaded from next to this file, wherever the page itself lives.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var bundleUrl = new URL("../vendor/webchat.js", script.src).href;

  function readConfig() {
    var block = document.getElementById("dit-assistant-config");
    if (!block) {
      throw new Error("dit-widget.js: no #dit-assistant-config block on this page");
    }
    return JSON.parse(block.textContent);
  }

  function mount(config) {
    window.WebChat.default(
      {
        socketUrl: config.socketUrl,
        socketPath: config.socketPath || "/socket.io/",
        initPayload: config.initPayload || "/greet",
        title: config.title || "Questions about DIT",
        subtitle: config.subtitle || null,
        inputTextFieldHint: config.inputTextFieldHint || "Type your question",
        params: { storage: config.storage || "session" },
        showMessageDate: false,
        hideWhenNotConnected: false,
        /* Each reply is shown as soon as it arrives. The widget's default holds every message
         * back 30 ms per character (0.8 to 3 s) as if someone were typing: a crisis reply and
         * its helplines would wait 3 s, and the person reads a pause as nobody there. */
        customMessageDelay: function () {
          return 0;
        }
      },
      null
    );
  }

  /* The widget renders no accessible names and shows quick replies as plain <div>s; fix both
   * whenever it (re)renders. Attributes are only set when they differ, so the observer that
   * calls this does not trigger itself forever. */
  var LABELS = [
    [".rw-new-message", "Your message"],
    [".rw-send", "Send message"],
    [".rw-close-button", "Close the chat assistant"]
  ];

  function setAttribute(element, name, value) {
    if (element.getAttribute(name) !== value) {
      element.setAttribute(name, value);
    }
  }

  function pressOnEnterOrSpace(event) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      event.currentTarget.click();
    }
  }

  function label(root) {
    LABELS.forEach(function (rule) {
      root.querySelectorAll(rule[0]).forEach(function (element) {
        setAttribute(element, "aria-label", rule[1]);
      });
    });
    root.querySelectorAll(".rw-launcher").forEach(function (launcher) {
      var open = launcher.querySelector(".rw-close-launcher") !== null;
      setAttribute(launcher, "aria-label", open ? "Close the chat assistant" : "Open the chat assistant");
      setAttribute(launcher, "aria-expanded", open ? "true" : "false");
    });
    root.querySelectorAll(".rw-title").forEach(function (title) {
      setAttribute(title, "aria-level", "2");  /* the widget uses <h4> under the page's <h1> */
    });
    root.querySelectorAll(".rw-reply").forEach(function (reply) {
      if (reply.tagName !== "BUTTON" && !reply.hasAttribute("data-dit-keyboard")) {
        reply.setAttribute("data-dit-keyboard", "");
        reply.setAttribute("role", "button");
        reply.setAttribute("tabindex", "0");
        reply.addEventListener("keydown", pressOnEnterOrSpace);
      }
    });
    root.querySelectorAll(".rw-messages-container").forEach(function (log) {
      if (log.getAttribute("role") !== "log") {
        log.setAttribute("role", "log");
        log.setAttribute("aria-live", "polite");
        log.setAttribute("aria-label", "Conversation with the assistant");
      }
    });
    root.querySelectorAll(".rw-conversation-container").forEach(function (panel) {
      if (panel.getAttribute("role") !== "region") {
        panel.setAttribute("role", "region");
        panel.setAttribute("aria-label", "Chat assistant");
      }
    });
    root.querySelectorAll(".rw-message a[href]").forEach(function (link) {
      if (link.target === "_blank" && link.rel !== "noopener noreferrer") {
        link.rel = "noopener noreferrer";
      }
    });
  }

  function start() {
    var config = readConfig();
    var bundle = document.createElement("script");
    bundle.src = bundleUrl;
    bundle.onload = function () {
      mount(config);
      label(document);
      new MutationObserver(function () {
        label(document);
      }).observe(document.body, { childList: true, subtree: true });
    };
    document.head.appendChild(bundle);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
