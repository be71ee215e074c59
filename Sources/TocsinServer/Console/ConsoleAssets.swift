/// The console's stylesheet and script, compiled into the binary: the console loads nothing from elsewhere and
/// needs no build step.
enum ConsoleAssets {
    static let stylesheet = #"""
        :root { --ink: #1d2330; --muted: #5d6675; --line: #d8dce3; --accent: #2457c5; --bad: #b42318; --warn: #b54708; --ok: #067647; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
        header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #1d2330; color: #fff; }
        header.top a { color: #cfd6e4; text-decoration: none; }
        header.top a.brand { color: #fff; font-weight: 700; font-size: 1.1rem; }
        header.top nav { display: flex; gap: 1rem; flex: 1; }
        header.top nav a.current { color: #fff; border-bottom: 2px solid #fff; }
        .who { color: #cfd6e4; }
        .who .role { font-size: .8rem; padding: 0 .35rem; border: 1px solid #6b7487; border-radius: 3px; }
        button.link { background: none; border: none; color: #cfd6e4; text-decoration: underline; cursor: pointer; padding: 0; }
        main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
        h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
        table { border-collapse: collapse; background: #fff; width: 100%; }
        th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
        th { background: #eef0f4; font-weight: 600; }
        .label, .setting { display: inline-block; background: #eef0f4; border-radius: 3px; padding: 0 .3rem; margin: 1px 0; font-family: ui-monospace, monospace; font-size: .85em; }
        .severity, .status, .badge { display: inline-block; border-radius: 3px; padding: 0 .35rem; font-size: .85em; background: #eef0f4; }
        .severity.critical, .status.dead { background: var(--bad); color: #fff; }
        .severity.error, .status.failed { background: #fee4e2; color: var(--bad); }
        .severity.warning, .status.pending { background: #fef0c7; color: var(--warn); }
        .status.delivered { background: #dcfae6; color: var(--ok); }
        .empty { color: var(--muted); }
        .answer { font-family: ui-monospace, monospace; font-size: .85em; white-space: pre-wrap; word-break: break-word; }
        .actions { white-space: nowrap; }
        .actions output { display: block; white-space: pre-wrap; font-size: .85em; margin-top: .3rem; }
        .ok { color: var(--ok); } .bad { color: var(--bad); }
        .flash { margin: .8rem 1.2rem 0; padding: .6rem .8rem; border-radius: 4px; white-space: pre-wrap; }
        .flash.error { background: #fee4e2; color: var(--bad); border: 1px solid #fda29b; }
        .flash.info { background: #dcfae6; color: var(--ok); border: 1px solid #a6f4c5; }
        form label { display: block; margin: .4rem 0; }
        form input, form select, form textarea { display: block; min-width: 18rem; padding: .3rem; font: inherit; }
        form .help { color: var(--muted); font-size: .85em; }
        fieldset { border: 1px solid var(--line); margin: .6rem 0; }
        button { font: inherit; padding: .25rem .7rem; cursor: pointer; }
        .narrow { max-width: 32rem; }
        .matrix td.cell { min-width: 11rem; }
        .matrix td.cell ul { list-style: none; margin: 0 0 .3rem; padding: 0; }
        .matrix td.cell.file { background: #f3f4f6; }
        .matrix td.cell select.add, .matrix td.cell .override input { display: inline-block; min-width: 0; }
        .matrix .source { color: var(--muted); font-size: .8em; }
        button.remove { border: none; background: none; color: var(--bad); padding: 0 .2rem; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.facts dt { color: var(--muted); }
        section.group { background: #fff; border: 1px solid var(--line); padding: .4rem .8rem .8rem; margin-bottom: 1rem; }
        #route-preview-result { display: block; margin-top: .6rem; white-space: pre-wrap; }
        """#

    static let script = #"""
        "use strict";
        (function () {
          function csrfToken() {
            var meta = document.querySelector('meta[name="csrf-token"]');
            return meta ? meta.getAttribute("content") : "";
          }

          function signedInAs() {
            var who = document.getElementById("signed-in-as");
            return who ? who.textContent : "console";
          }

          function flash(message, kind) {
            var box = document.getElementById("flash");
            if (!box) { window.alert(message); return; }
            box.textContent = message;
            box.className = "flash " + (kind || "error");
            box.hidden = false;
            box.scrollIntoView({ block: "nearest" });
          }

          // Calls the API and answers its JSON. A refusal becomes an Error carrying the API's own message, which the
          // caller shows: nothing is swallowed. `accept` lists statuses whose body is an answer rather than an error.
          async function api(method, path, body, accept) {
            var headers = { "Accept": "application/json" };
            if (body !== undefined) headers["Content-Type"] = "application/json";
            var token = csrfToken();
            if (token && method !== "GET") headers["X-CSRF-Token"] = token;
            var response;
            try {
              response = await fetch(path, {
                method: method, headers: headers, credentials: "same-origin",
                body: body === undefined ? undefined : JSON.stringify(body)
              });
            } catch (error) {
              throw new Error("Tocsin could not be reached: " + error.message);
            }
            var text = await response.text();
            var json = null;
            if (text) { try { json = JSON.parse(text); } catch (ignored) { json = null; } }
            if (response.ok || (accept && accept.indexOf(response.status) >= 0)) return { status: response.status, body: json };
            var message = json && json.error && json.error.message ? json.error.message : (text || response.statusText);
            if (json && json.error && json.error.field) message += " (" + json.error.field + ")";
            throw new Error(response.status + ": " + message);
          }

          function reloadWith(message) {
            if (message) sessionStorage.setItem("tocsin-flash", message);
            window.location.reload();
          }

          function segment(text) { return encodeURIComponent(text); }

          var actions = {
            "acknowledge": function (button) {
              return api("POST", "/api/v1/alerts/" + segment(button.dataset.fingerprint) + "/ack", { by: signedInAs() })
                .then(function () { reloadWith("Acknowledged."); });
            },
            "acknowledge-group": function (button) {
              return api("POST", "/api/v1/groups/" + segment(button.dataset.key) + "/ack", { by: signedInAs() })
                .then(function () { reloadWith("Group acknowledged."); });
            },
            "silence-alert": function (button) {
              var dialog = document.getElementById("silence-dialog");
              var matchers = JSON.parse(button.dataset.matchers || "[]");
              dialog.dataset.matchers = JSON.stringify(matchers);
              document.getElementById("silence-alert-matchers").textContent = matchers.join(", ");
              dialog.showModal();
            },
            "close-dialog": function (button) { button.closest("dialog").close(); },
            "retry": function (button) {
              return api("POST", "/api/v1/deliveries/" + segment(button.dataset.delivery) + "/retry", undefined)
                .then(function () { reloadWith("Retry queued: the delivery is pending again."); });
            },
            "expire-silence": function (button) {
              if (!window.confirm("Expire this silence now?")) return;
              return api("DELETE", "/api/v1/silences/" + segment(button.dataset.id), undefined)
                .then(function () { reloadWith("Silence expired."); });
            },
            "test-integration": function (button) {
              var name = button.dataset.name;
              var output = document.querySelector('output.test-result[data-for="' + CSS.escape(name) + '"]');
              output.textContent = "Sending a test message…";
              output.className = "test-result";
              return api("POST", "/api/v1/integrations/" + segment(name) + "/test", undefined, [502]).then(function (answer) {
                var test = (answer.body && answer.body.test) || {};
                var text = test.outcome || "unknown";
                if (test.statusCode) text += " (HTTP " + test.statusCode + ")";
                if (test.detail) text += ": " + test.detail;
                output.textContent = text;
                output.className = "test-result " + (answer.status === 200 ? "ok" : "bad");
              }, function (error) { output.textContent = ""; throw error; });
            },
            "delete-integration": function (button) {
              var name = button.dataset.name;
              if (!window.confirm("Delete the integration " + name + "? Routing cells that name it lose it.")) return;
              return api("DELETE", "/api/v1/integrations/" + segment(name), undefined)
                .then(function () { reloadWith("Integration " + name + " deleted."); });
            },
            "edit-integration": function (button) { return IntegrationForm.edit(button.dataset.name, button.dataset.type, JSON.parse(button.dataset.settings || "{}")); },
            "reset-integration-form": function () { IntegrationForm.reset(); },
            "route-add": function (button) {
              var cell = button.closest("td.cell");
              var select = cell.querySelector("select.add");
              if (!select.value) { flash("Choose an integration to add."); return; }
              var list = JSON.parse(cell.dataset.integrations || "[]");
              list.push(select.value);
              return saveCell(cell, list, cell.dataset.override === "true");
            },
            "route-remove": function (button) {
              var cell = button.closest("td.cell");
              var list = JSON.parse(cell.dataset.integrations || "[]").filter(function (name) { return name !== button.dataset.integration; });
              return saveCell(cell, list, cell.dataset.override === "true");
            },
          };

          function saveCell(cell, integrations, override) {
            var path = "/api/v1/routing/" + segment(cell.dataset.scope) + "/" + segment(cell.dataset.severity);
            var request = integrations.length === 0 && !override
              ? api("DELETE", path, undefined)
              : api("PUT", path, { integrations: integrations, override: override });
            return request.then(function () { reloadWith("Routing " + cell.dataset.scope + " / " + cell.dataset.severity + " saved."); });
          }

          document.addEventListener("click", function (event) {
            var button = event.target.closest("[data-action]");
            if (!button || button.tagName === "INPUT" || !actions[button.dataset.action]) return;
            event.preventDefault();
            button.disabled = true;
            Promise.resolve()
              .then(function () { return actions[button.dataset.action](button); })
              .catch(function (error) { flash(error.message); })
              .finally(function () { button.disabled = false; });
          });

          document.addEventListener("change", function (event) {
            var box = event.target;
            if (box.dataset && box.dataset.action === "route-override") {
              var cell = box.closest("td.cell");
              saveCell(cell, JSON.parse(cell.dataset.integrations || "[]"), box.checked).catch(function (error) {
                box.checked = !box.checked;
                flash(error.message);
              });
            }
          });

          function onSubmit(id, handler) {
            var form = document.getElementById(id);
            if (!form) return;
            form.addEventListener("submit", function (event) {
              event.preventDefault();
              var submit = form.querySelector('[type="submit"]');
              if (submit) submit.disabled = true;
              Promise.resolve()
                .then(function () { return handler(form); })
                .catch(function (error) { flash(error.message); })
                .finally(function () { if (submit) submit.disabled = false; });
            });
          }

          function matchersOf(text) {
            return text.split("\n").map(function (line) { return line.trim(); }).filter(function (line) { return line.length > 0; });
          }

          onSubmit("login-form", function (form) {
            var token = form.elements.token.value;
            var body = token ? { token: token } : { name: form.elements.name.value, password: form.elements.password.value };
            return api("POST", "/api/v1/session", body).then(function () {
              window.location.assign(form.dataset.next || "/alerts");
            });
          });

          onSubmit("silence-form", function (form) {
            var body = {
              matchers: matchersOf(form.elements.matchers.value),
              comment: form.elements.comment.value,
              created_by: signedInAs()
            };
            var duration = form.elements.duration.value.trim();
            var cron = form.elements.cron.value.trim();
            // With a schedule the duration is each window's length, and the window recurs until it is expired.
            if (cron) {
              body.schedule = { cron: cron, duration: duration };
            } else {
              body.duration = duration;
            }
            return api("POST", "/api/v1/silences", body).then(function () {
              reloadWith(cron ? "Maintenance window created." : "Silence created.");
            });
          });

          onSubmit("silence-alert-form", function (form) {
            var dialog = document.getElementById("silence-dialog");
            return api("POST", "/api/v1/silences", {
              matchers: JSON.parse(dialog.dataset.matchers || "[]"),
              duration: form.elements.duration.value.trim(),
              comment: form.elements.comment.value,
              created_by: signedInAs()
            }).then(function () { dialog.close(); reloadWith("Silence created."); });
          });

          onSubmit("route-preview-form", function (form) {
            var labels = {};
            form.elements.labels.value.split(",").forEach(function (pair) {
              var equals = pair.indexOf("=");
              if (equals > 0) labels[pair.slice(0, equals).trim()] = pair.slice(equals + 1).trim();
            });
            var result = document.getElementById("route-preview-result");
            return api("POST", "/api/v1/route-preview", {
              kind: form.elements.kind.value,
              category: form.elements.category.value,
              severity: form.elements.severity.value,
              summary: "Routing preview",
              labels: labels
            }).then(function (answer) {
              var preview = answer.body;
              if (preview.unrouted) {
                result.textContent = "Nowhere: no cell and no default route takes this event.";
              } else {
                result.textContent = "Goes to: " + preview.targets.map(function (target) {
                  return target.integration + " (via " + target.cell + ")";
                }).join(", ");
              }
              if (preview.note) result.textContent += "\n" + preview.note;
            });
          });

          var signOut = document.getElementById("sign-out");
          if (signOut) {
            signOut.addEventListener("click", function () {
              api("DELETE", "/api/v1/session", undefined)
                .then(function () { window.location.assign("/login"); })
                .catch(function (error) { flash(error.message); });
            });
          }

          // The create and edit form of integrations, built from each type's field list (and the delivery options
          // every type shares). Secrets are write-only: an edit shows them masked, and an empty box keeps the stored one.
          var IntegrationForm = (function () {
            var form = document.getElementById("integration-form");
            var typesPromise = null;
            function types() {
              if (!typesPromise) {
                typesPromise = api("GET", "/api/v1/integration-types", undefined).then(function (answer) {
                  var byName = {};
                  ((answer.body && answer.body.types) || []).forEach(function (type) { byName[type.type] = type; });
                  return byName;
                });
                typesPromise.catch(function () { typesPromise = null; });
              }
              return typesPromise;
            }

            var structured = { map: true, secret_map: true, json: true };

            function fieldInput(field, value, editing) {
              var wrapper = document.createElement("label");
              wrapper.textContent = (field.label || field.key) + (field.required ? " *" : "");
              var input;
              var present = value !== undefined && value !== null;
              if (field.kind === "boolean") {
                input = document.createElement("input");
                input.type = "checkbox";
                input.checked = value === true;
              } else if (field.kind === "select") {
                input = document.createElement("select");
                var empty = document.createElement("option");
                empty.value = "";
                empty.textContent = "(default)";
                input.appendChild(empty);
                (field.options || []).forEach(function (choice) {
                  var option = document.createElement("option");
                  option.value = choice;
                  option.textContent = choice;
                  if (choice === value) option.selected = true;
                  input.appendChild(option);
                });
              } else if (structured[field.kind]) {
                input = document.createElement("textarea");
                input.rows = 3;
                input.placeholder = "JSON, such as {\"key\": \"value\"}";
                if (present) input.value = JSON.stringify(value);
              } else {
                input = document.createElement("input");
                input.type = field.kind === "secret" ? "password" : (field.kind === "number" ? "number" : "text");
                if (field.kind === "secret") {
                  input.autocomplete = "new-password";
                  if (editing && present) input.placeholder = "•••••••• (leave empty to keep)";
                } else if (field.kind === "list") {
                  input.value = Array.isArray(value) ? value.join(", ") : "";
                  input.placeholder = "comma, separated";
                } else if (present) {
                  input.value = String(value);
                }
              }
              if (field.required && field.kind !== "boolean" && !(editing && field.kind === "secret")) input.required = true;
              input.dataset.key = field.key;
              input.dataset.kind = field.kind;
              input.name = "field-" + field.key;
              wrapper.appendChild(input);
              if (field.help) {
                var help = document.createElement("span");
                help.className = "help";
                help.textContent = field.help;
                wrapper.appendChild(help);
              }
              return wrapper;
            }

            function render(typeName, settings, editing) {
              var container = document.getElementById("integration-fields");
              var common = document.getElementById("integration-common-fields");
              container.textContent = "";
              common.textContent = "";
              if (!typeName) return Promise.resolve();
              JSON.parse(form.dataset.commonFields || "[]").forEach(function (field) {
                common.appendChild(fieldInput(field, settings[field.key], editing));
              });
              return types().then(function (byName) {
                var type = byName[typeName];
                if (!type) throw new Error("unknown integration type " + typeName);
                type.fields.forEach(function (field) {
                  container.appendChild(fieldInput(field, settings[field.key], editing));
                });
              });
            }

            function body() {
              var item = { name: form.elements.name.value.trim(), type: form.elements.type.value };
              form.querySelectorAll("[data-key]").forEach(function (input) {
                var key = input.dataset.key;
                var kind = input.dataset.kind;
                if (kind === "boolean") { item[key] = input.checked; return; }
                var text = input.value.trim();
                if (text === "") return;
                if (kind === "number") item[key] = Number(text);
                else if (kind === "list") item[key] = text.split(",").map(function (part) { return part.trim(); }).filter(function (part) { return part; });
                else if (structured[kind]) {
                  try { item[key] = JSON.parse(text); } catch (error) { throw new Error(key + ": not valid JSON (" + error.message + ")"); }
                } else item[key] = text;
              });
              return item;
            }

            if (form) {
              form.elements.type.addEventListener("change", function () {
                render(form.elements.type.value, {}, false).catch(function (error) { flash(error.message); });
              });
              onSubmit("integration-form", function () {
                var item = body();
                var editing = form.dataset.mode === "edit";
                var request = editing
                  ? api("PUT", "/api/v1/integrations/" + segment(form.dataset.original), item)
                  : api("POST", "/api/v1/integrations", item);
                return request.then(function () { reloadWith("Integration " + item.name + " saved."); });
              });
            }

            return {
              edit: function (name, typeName, settings) {
                form.dataset.mode = "edit";
                form.dataset.original = name;
                form.elements.name.value = name;
                form.elements.name.readOnly = true;
                form.elements.type.value = typeName;
                form.elements.type.disabled = true;
                document.getElementById("integration-form-title").textContent = "Edit " + name;
                form.scrollIntoView();
                return render(typeName, settings, true);
              },
              reset: function () {
                form.reset();
                form.dataset.mode = "create";
                form.elements.name.readOnly = false;
                form.elements.type.disabled = false;
                document.getElementById("integration-form-title").textContent = "New integration";
                document.getElementById("integration-fields").textContent = "";
                document.getElementById("integration-common-fields").textContent = "";
              }
            };
          })();

          var saved = sessionStorage.getItem("tocsin-flash");
          if (saved) {
            sessionStorage.removeItem("tocsin-flash");
            flash(saved, "info");
          }
        })();
        """#
}
