import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import TocsinCore
import TocsinStore

extension API {
    /// The web console's pages and assets. Each page is registered with the access it needs; a visitor who is not
    /// signed in is sent to the sign-in page rather than answered 401 (`EndpointRegistrar.page`).
    func registerConsole(on endpoints: EndpointRegistrar) {
        endpoints.get("/", .public) { _, _, _ in ConsoleResponse.redirect(to: "/alerts") }
        endpoints.get("/login", .public) { request, _, _ in try await loginPage(request) }
        endpoints.get("/console/console.css", .public) { _, _, _ in
            ConsoleResponse.asset(ConsoleAssets.stylesheet, contentType: "text/css; charset=utf-8")
        }
        endpoints.get("/console/console.js", .public) { _, _, _ in
            ConsoleResponse.asset(ConsoleAssets.script, contentType: "text/javascript; charset=utf-8")
        }
        page(endpoints, "/alerts", needs: .viewer) { request, _, page in try await alertsPage(page) }
        page(endpoints, "/alerts/{id}", needs: .viewer) { _, context, page in
            try await alertPage(try context.parameters.require("id"), page: page)
        }
        page(endpoints, "/deliveries", needs: .viewer) { _, _, page in try await deliveriesPage(page) }
        page(endpoints, "/integrations", needs: .viewer) { _, _, page in try await integrationsPage(page) }
        page(endpoints, "/routing", needs: .viewer) { _, _, page in try await routingPage(page) }
        page(endpoints, "/silences", needs: .viewer) { _, _, page in try await silencesPage(page) }
        page(endpoints, "/audit", needs: .admin) { request, _, page in try await auditPage(request, page: page) }
    }

    /// Registers a console page: a visitor without a valid sign-in is sent to `/login`, one whose role may not see
    /// the page gets a 403 page.
    private func page(
        _ endpoints: EndpointRegistrar,
        _ path: String,
        needs access: EndpointAccess,
        render: @escaping @Sendable (Request, BasicRequestContext, ConsolePage) async throws -> Response
    ) {
        let accessControl = runtime.access
        endpoints.page(
            path,
            access,
            refused: { refusal, request in
                // A bad CSRF token cannot happen on a GET: what is left is no credential, or the wrong role.
                guard refusal.status == .forbidden, let caller = try await accessControl.identify(request), let role = caller.role else {
                    return ConsoleResponse.redirect(to: "/login?next=" + ConsoleResponse.queryEscaped(request.uri.path))
                }
                return ConsolePage(caller: caller, path: request.uri.path).render(
                    "message",
                    title: "Not allowed",
                    values: ["heading": "Not allowed", "message": "Your role (\(role.rawValue)) may not see this page."],
                    status: .forbidden
                )
            },
            handler: { request, context, caller in
                try await render(request, context, ConsolePage(caller: caller, path: request.uri.path))
            }
        )
    }

    func loginPage(_ request: Request) async throws -> Response {
        let next = request.uri.queryParameters.get("next").flatMap { ConsoleResponse.localPath($0) } ?? "/alerts"
        let page = ConsolePage(caller: nil, path: "/login")
        return page.render(
            "login",
            title: "Sign in",
            values: ["authEnabled": runtime.access.enabled, "next": next]
        )
    }
}

/// One console page being answered: who asks, and what their role lets the page offer.
struct ConsolePage: Sendable {
    /// Nil on the sign-in page.
    var caller: Caller?
    var path: String

    /// Authentication off (no role): every button is offered.
    var canEdit: Bool { caller.map { $0.role?.allows(.editor) ?? true } ?? false }
    var isAdmin: Bool { caller.map { $0.role?.allows(.admin) ?? true } ?? false }

    /// The page's template rendered inside the layout (navigation, who is signed in, the CSRF token).
    func render(_ template: String, title: String, values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["canEdit"] = canEdit
        values["isAdmin"] = isAdmin
        let content = ConsoleTemplates.library.render(values, withTemplate: template) ?? ""
        let sections: [(path: String, label: String, adminOnly: Bool)] = [
            ("/alerts", "Alerts", false), ("/deliveries", "Deliveries", false), ("/integrations", "Integrations", false),
            ("/routing", "Routing", false), ("/silences", "Silences", false), ("/audit", "Audit", true),
        ]
        let navigation: [[String: Any]] = sections.filter { !$0.adminOnly || isAdmin }.map { section in
            ["href": section.path, "label": section.label, "current": path == section.path || path.hasPrefix(section.path + "/")]
        }
        var layout: [String: Any] = [
            "title": title,
            "content": content,
            "navigation": caller == nil ? [] : navigation,
            "csrfToken": caller?.csrfToken ?? "",
        ]
        if let caller {
            layout["signedIn"] = ["subject": caller.subject, "role": caller.role?.rawValue ?? "open"]
            // Sessions only: callers with a token header or with authentication off have nothing to sign out of.
            layout["canSignOut"] = caller.viaSession
        }
        let html = ConsoleTemplates.library.render(layout, withTemplate: "layout") ?? ""
        return ConsoleResponse.html(html, status: status)
    }
}

enum ConsoleResponse {
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .cacheControl: "no-store",
                HTTPField.Name("Content-Security-Policy")!:
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    static func asset(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: contentType, .cacheControl: "no-cache", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "/"
    }

    /// A path on this server to go to after signing in; anything else (another site, `//host`) is refused, so that
    /// the sign-in page cannot be used to send people elsewhere.
    static func localPath(_ text: String) -> String? {
        guard text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"), !text.contains(where: { $0.isNewline }) else {
            return nil
        }
        return text
    }
}

/// How long ago, in the largest units that matter: `45s`, `12m`, `3h 5m`, `2d 4h`.
enum ConsoleFormat {
    static func age(since start: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(start)))
        if seconds < 60 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 60 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 24 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h \(minutes % 60)m" }
        let days = hours / 24
        return hours % 24 == 0 ? "\(days)d" : "\(days)d \(hours % 24)h"
    }

    static func time(_ date: Date?) -> String {
        date.map { Timestamp.format($0) } ?? ""
    }

    /// Labels as sorted `name=value` texts.
    static func labels(_ labels: [String: String]) -> [String] {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// Labels as the matchers of a silence that mutes exactly this alert, as JSON for the page's script.
    static func matchersJSON(_ labels: [String: String]) -> String {
        let matchers = labels.sorted { $0.key < $1.key }.map { JSONValue.string("\($0.key)=\"\($0.value)\"") }
        return String(decoding: JSONWriter.write(.array(matchers)), as: UTF8.self)
    }
}
