import Mustache

/// The console's page templates, compiled into the binary so that a copied executable serves the whole console.
/// `{{ }}` escapes for HTML (attributes included); the only unescaped value is the layout's `content`, which is
/// itself a rendered template.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in sources {
            do {
                try library.register(text, named: name)
            } catch {
                preconditionFailure("console template \(name) does not compile: \(error)")
            }
        }
        return library
    }()

    static let sources: [String: String] = [
        "layout": layout,
        "login": login,
        "message": message,
        "alerts": alerts,
        "alert": alert,
        "deliveries": deliveries,
        "integrations": integrations,
        "routing": routing,
        "silences": silences,
        "audit": audit,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="csrf-token" content="{{csrfToken}}">
        <title>{{title}} · Tocsin</title>
        <link rel="stylesheet" href="/console/console.css">
        <script src="/console/console.js" defer></script>
        </head>
        <body>
        <header class="top">
          <a class="brand" href="/alerts">Tocsin</a>
          <nav>{{#navigation}}<a href="{{href}}"{{#current}} class="current" aria-current="page"{{/current}}>{{label}}</a>{{/navigation}}</nav>
          {{#signedIn}}<div class="who"><span id="signed-in-as">{{subject}}</span> <span class="role">{{role}}</span>{{#canSignOut}} <button type="button" id="sign-out" class="link">Sign out</button>{{/canSignOut}}</div>{{/signedIn}}
        </header>
        <div id="flash" class="flash" role="alert" hidden></div>
        <main>
        {{{content}}}
        </main>
        </body>
        </html>
        """

    static let login = """
        <section class="narrow">
        <h1>Sign in</h1>
        {{#authEnabled}}
        <form id="login-form" data-next="{{next}}">
          <fieldset>
            <legend>With a name and password</legend>
            <label>Name <input name="name" id="login-name" autocomplete="username"></label>
            <label>Password <input name="password" id="login-password" type="password" autocomplete="current-password"></label>
          </fieldset>
          <fieldset>
            <legend>Or with an API token</legend>
            <label>Token <input name="token" id="login-token" type="password" autocomplete="off"></label>
          </fieldset>
          <button type="submit" id="login-submit">Sign in</button>
        </form>
        {{/authEnabled}}
        {{^authEnabled}}
        <p>Authentication is off on this server: there is nothing to sign in to.</p>
        <p><a href="/">Open the console</a></p>
        {{/authEnabled}}
        </section>
        """

    static let message = """
        <section class="narrow">
        <h1>{{heading}}</h1>
        <p class="message">{{message}}</p>
        {{#back}}<p><a href="{{back}}">Back</a></p>{{/back}}
        </section>
        """

    static let alerts = """
        <h1>Open alerts</h1>
        {{#hasAlerts}}
        <table class="list" id="alerts">
          <thead><tr><th>Severity</th><th>Category</th><th>Summary</th><th>Labels</th><th>Age</th><th>State</th><th></th></tr></thead>
          <tbody>
          {{#alerts}}
          <tr data-fingerprint="{{fingerprint}}">
            <td><span class="severity {{severity}}">{{severity}}</span></td>
            <td>{{category}}</td>
            <td><a href="/alerts/{{fingerprint}}">{{summary}}</a></td>
            <td class="labels">{{#labels}}<span class="label">{{.}}</span> {{/labels}}</td>
            <td title="{{startsAt}}">{{age}}</td>
            <td>{{#acknowledged}}<span class="badge">acknowledged by {{acknowledgedBy}}</span> {{/acknowledged}}{{#silenced}}<span class="badge" title="{{silencedBy}}">silenced</span>{{/silenced}}</td>
            <td class="actions">{{#canEdit}}{{^acknowledged}}<button type="button" data-action="acknowledge" data-fingerprint="{{fingerprint}}">Acknowledge</button> {{/acknowledged}}<button type="button" data-action="silence-alert" data-matchers="{{matchers}}">Silence</button>{{/canEdit}}</td>
          </tr>
          {{/alerts}}
          </tbody>
        </table>
        {{/hasAlerts}}
        {{^hasAlerts}}<p class="empty">No open alerts.</p>{{/hasAlerts}}
        {{#canEdit}}
        <dialog id="silence-dialog">
          <form id="silence-alert-form" method="dialog">
            <h2>Silence this alert</h2>
            <p>Matchers: <code id="silence-alert-matchers"></code></p>
            <label>Duration <input name="duration" value="2h" required></label>
            <label>Comment <input name="comment" required></label>
            <button type="submit" value="silence">Silence</button>
            <button type="button" data-action="close-dialog">Cancel</button>
          </form>
        </dialog>
        {{/canEdit}}
        <h2>Recent history</h2>
        {{#hasHistory}}
        <table class="list" id="history">
          <thead><tr><th>When</th><th>Kind</th><th>Severity</th><th>Category</th><th>Summary</th><th>Outcome</th><th>Integrations</th></tr></thead>
          <tbody>
          {{#history}}
          <tr>
            <td title="{{time}}">{{age}} ago</td><td>{{kind}}</td><td><span class="severity {{severity}}">{{severity}}</span></td><td>{{category}}</td>
            <td>{{#hasLink}}<a href="{{link}}">{{summary}}</a>{{/hasLink}}{{^hasLink}}{{summary}}{{/hasLink}}</td><td>{{outcome}}</td><td>{{integrations}}</td>
          </tr>
          {{/history}}
          </tbody>
        </table>
        {{/hasHistory}}
        {{^hasHistory}}<p class="empty">No events yet.</p>{{/hasHistory}}
        """

    static let alert = """
        <p><a href="/alerts">← Alerts</a></p>
        {{#alert}}
        <h1><span class="severity {{severity}}">{{severity}}</span> {{summary}}</h1>
        <dl class="facts">
          <dt>Fingerprint</dt><dd><code>{{fingerprint}}</code></dd>
          <dt>Category</dt><dd>{{category}}</dd>
          <dt>Open since</dt><dd>{{startsAt}} ({{age}})</dd>
          <dt>Labels</dt><dd class="labels">{{#labels}}<span class="label">{{.}}</span> {{/labels}}</dd>
          {{#acknowledged}}<dt>Acknowledged by</dt><dd>{{acknowledgedBy}}</dd>{{/acknowledged}}
        </dl>
        {{#canEdit}}{{^acknowledged}}<button type="button" data-action="acknowledge" data-fingerprint="{{fingerprint}}">Acknowledge</button>{{/acknowledged}}{{/canEdit}}
        {{/alert}}
        {{^alert}}<h1>Alert group <code>{{id}}</code></h1>{{/alert}}
        {{#isGroup}}{{#canEdit}}<p><button type="button" data-action="acknowledge-group" data-key="{{groupKey}}">Acknowledge the whole group</button></p>{{/canEdit}}{{/isGroup}}
        {{#hasGroups}}
        <h2>Groups</h2>
        {{#groups}}
        <section class="group">
          <h3>{{integration}}: <code>{{key}}</code></h3>
          <p>Grouped by {{#groupLabels}}<span class="label">{{.}}</span> {{/groupLabels}} · created {{createdAt}} · {{notifications}} notifications{{#hasLastNotified}}, last {{lastNotifiedAt}}{{/hasLastNotified}}</p>
          <table class="list members">
            <thead><tr><th>Status</th><th>Severity</th><th>Summary</th><th>Labels</th><th>Notes</th></tr></thead>
            <tbody>
            {{#members}}
            <tr><td>{{status}}</td><td><span class="severity {{severity}}">{{severity}}</span></td><td><a href="/alerts/{{fingerprint}}">{{summary}}</a></td>
            <td class="labels">{{#labels}}<span class="label">{{.}}</span> {{/labels}}</td>
            <td>{{#acknowledged}}acknowledged by {{acknowledgedBy}} {{/acknowledged}}{{#flapping}}flapping {{/flapping}}{{suppression}}</td></tr>
            {{/members}}
            </tbody>
          </table>
        </section>
        {{/groups}}
        {{/hasGroups}}
        """

    static let deliveries = """
        <h1>Deliveries</h1>
        <h2>Outbox by integration</h2>
        {{#hasDepth}}
        <table class="list" id="outbox">
          <thead><tr><th>Integration</th><th>Pending</th><th>Delivered</th><th>Failed</th><th>Dead</th></tr></thead>
          <tbody>
          {{#depth}}<tr><td>{{integration}}</td><td>{{pending}}</td><td>{{delivered}}</td><td>{{failed}}</td><td>{{dead}}</td></tr>{{/depth}}
          </tbody>
        </table>
        {{/hasDepth}}
        {{^hasDepth}}<p class="empty">No integrations.</p>{{/hasDepth}}
        <h2>Failed and dead-lettered</h2>
        {{#hasTroubled}}
        <table class="list" id="failed-deliveries">
          <thead><tr><th>Integration</th><th>Status</th><th>Attempts</th><th>Last attempt</th><th>The service answered</th><th></th></tr></thead>
          <tbody>
          {{#troubled}}
          <tr data-delivery="{{id}}">
            <td>{{integration}}</td><td><span class="status {{status}}">{{status}}</span></td><td>{{attempts}}</td><td>{{lastAttemptAt}}</td>
            <td class="answer">{{#hasStatusCode}}<code>{{statusCode}}</code> {{/hasStatusCode}}{{lastError}}</td>
            <td class="actions">{{#canEdit}}<button type="button" data-action="retry" data-delivery="{{id}}">Retry</button>{{/canEdit}}</td>
          </tr>
          {{/troubled}}
          </tbody>
        </table>
        {{/hasTroubled}}
        {{^hasTroubled}}<p class="empty">No failed deliveries.</p>{{/hasTroubled}}
        <h2>Recent deliveries</h2>
        {{#hasRecent}}
        <table class="list" id="recent-deliveries">
          <thead><tr><th>Created</th><th>Integration</th><th>Status</th><th>Attempts</th><th>The service answered</th></tr></thead>
          <tbody>
          {{#recent}}
          <tr data-delivery="{{id}}"><td title="{{createdAt}}">{{age}} ago</td><td>{{integration}}</td><td><span class="status {{status}}">{{status}}</span></td><td>{{attempts}}</td>
          <td class="answer">{{#hasStatusCode}}<code>{{statusCode}}</code> {{/hasStatusCode}}{{lastError}}</td></tr>
          {{/recent}}
          </tbody>
        </table>
        {{/hasRecent}}
        {{^hasRecent}}<p class="empty">Nothing delivered yet.</p>{{/hasRecent}}
        """

    static let integrations = """
        <h1>Integrations</h1>
        {{#types}}
        <h2>{{type}}</h2>
        <table class="list integrations">
          <thead><tr><th>Name</th><th>Source</th><th>Settings</th><th></th></tr></thead>
          <tbody>
          {{#items}}
          <tr data-integration="{{name}}">
            <td>{{name}}</td>
            <td>{{#managed}}managed{{#updatedBy}} (by {{updatedBy}}){{/updatedBy}}{{/managed}}{{^managed}}file (read-only){{/managed}}</td>
            <td class="settings">{{#settings}}<span class="setting">{{key}}: {{value}}</span> {{/settings}}{{#hasProblem}}<p class="bad">Not in force: {{problem}}</p>{{/hasProblem}}</td>
            <td class="actions">
              {{#canEdit}}<button type="button" data-action="test-integration" data-name="{{name}}">Test</button>
              {{#editable}}<button type="button" data-action="edit-integration" data-name="{{name}}" data-type="{{type}}" data-settings="{{settingsJSON}}">Edit</button>
              <button type="button" data-action="delete-integration" data-name="{{name}}">Delete</button>{{/editable}}{{/canEdit}}
              <output class="test-result" data-for="{{name}}"></output>
            </td>
          </tr>
          {{/items}}
          </tbody>
        </table>
        {{/types}}
        {{^hasIntegrations}}<p class="empty">No integrations yet.</p>{{/hasIntegrations}}
        {{#canEdit}}{{#managedAvailable}}
        <h2 id="integration-form-title">New integration</h2>
        <form id="integration-form" data-mode="create" data-common-fields="{{commonFields}}">
          <label>Type <select name="type" id="integration-type"><option value="">Choose a type…</option>{{#typeNames}}<option value="{{type}}">{{label}}</option>{{/typeNames}}</select></label>
          <label>Name <input name="name" id="integration-name" required></label>
          <div id="integration-fields"></div>
          <details><summary>Delivery options</summary><div id="integration-common-fields"></div></details>
          <button type="submit" id="integration-save">Save</button>
          <button type="button" data-action="reset-integration-form">Cancel</button>
        </form>
        {{/managedAvailable}}{{/canEdit}}
        """

    static let routing = """
        <h1>Routing</h1>
        <p>Each cell lists the integrations that events of its category and severity go to. A category's cell adds to the
        global one unless it overrides it. Cells from the configuration file are read-only.</p>
        <table class="matrix" id="routing">
          <thead><tr><th></th>{{#severities}}<th>{{.}}</th>{{/severities}}</tr></thead>
          <tbody>
          {{#rows}}
          <tr><th scope="row">{{scope}}</th>
          {{#cells}}
            <td class="cell{{#fromFile}} file{{/fromFile}}" data-scope="{{scope}}" data-severity="{{severity}}" data-integrations="{{integrationsJSON}}" data-override="{{override}}">
              <ul>{{#integrations}}<li>{{name}}{{#editable}} <button type="button" class="remove" data-action="route-remove" data-integration="{{name}}" aria-label="Remove {{name}}">×</button>{{/editable}}</li>{{/integrations}}</ul>
              {{#fromFile}}<span class="source">file</span>{{#override}} <span class="badge">overrides global</span>{{/override}}{{/fromFile}}
              {{#editable}}
              {{#isCategory}}<label class="override"><input type="checkbox" data-action="route-override"{{#override}} checked{{/override}}> override global</label>{{/isCategory}}
              <select class="add" aria-label="Add an integration to {{scope}} {{severity}}"><option value="">add…</option>{{#choices}}<option value="{{.}}">{{.}}</option>{{/choices}}</select>
              <button type="button" data-action="route-add">Add</button>
              {{/editable}}
            </td>
          {{/cells}}
          </tr>
          {{/rows}}
          </tbody>
        </table>
        {{#hasDefault}}<p>Events no cell routes go to: {{defaultRoute}}.</p>{{/hasDefault}}
        <h2>Where would this event go?</h2>
        <form id="route-preview-form">
          <label>Category <select name="category">{{#categories}}<option value="{{.}}">{{.}}</option>{{/categories}}</select></label>
          <label>Severity <select name="severity">{{#severities}}<option value="{{.}}">{{.}}</option>{{/severities}}</select></label>
          <label>Kind <select name="kind"><option value="alert">alert</option><option value="notification">notification</option></select></label>
          <label>Labels <input name="labels" placeholder="cluster=prod, dc=eu"></label>
          <button type="submit">Preview</button>
        </form>
        <output id="route-preview-result"></output>
        """

    static let silences = """
        <h1>Silences</h1>
        {{#sections}}
        <h2>{{state}}</h2>
        {{#isEmpty}}<p class="empty">None.</p>{{/isEmpty}}
        {{^isEmpty}}
        <table class="list silences" data-state="{{state}}">
          <thead><tr><th>Matchers</th><th>From</th><th>Until</th><th>Schedule</th><th>By</th><th>Comment</th><th></th></tr></thead>
          <tbody>
          {{#silences}}
          <tr data-silence="{{id}}"><td>{{#matchers}}<code>{{.}}</code> {{/matchers}}</td><td>{{startsAt}}</td><td>{{endsAt}}</td><td>{{schedule}}</td><td>{{createdBy}}</td><td>{{comment}}</td>
          <td class="actions">{{#canEdit}}{{#expirable}}<button type="button" data-action="expire-silence" data-id="{{id}}">Expire</button>{{/expirable}}{{/canEdit}}</td></tr>
          {{/silences}}
          </tbody>
        </table>
        {{/isEmpty}}
        {{/sections}}
        {{#canEdit}}
        <h2>New silence or maintenance window</h2>
        <form id="silence-form">
          <label>Matchers, one a line <textarea name="matchers" rows="3" placeholder="cluster=&quot;prod&quot;" required></textarea></label>
          <label>Duration <input name="duration" value="2h" required></label>
          <label>Repeat at (cron, UTC; empty for a one-off silence) <input name="cron" placeholder="0 2 * * 6"></label>
          <label>Comment <input name="comment" required></label>
          <button type="submit">Create silence</button>
        </form>
        {{/canEdit}}
        """

    static let audit = """
        <h1>Audit log</h1>
        {{#hasEntries}}
        <table class="list" id="audit">
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Detail</th></tr></thead>
          <tbody>
          {{#entries}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{target}}</td><td>{{detail}}</td></tr>{{/entries}}
          </tbody>
        </table>
        {{#next}}<p><a href="{{next}}">Older</a></p>{{/next}}
        {{/hasEntries}}
        {{^hasEntries}}<p class="empty">No changes recorded yet.</p>{{/hasEntries}}
        """
}
