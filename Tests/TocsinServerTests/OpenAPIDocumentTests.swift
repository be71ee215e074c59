import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TocsinCore
import TocsinServer
import TocsinTestSupport
import Yams

/// The served OpenAPI document stays true to the router: the same operations, the same access, the same path
/// parameters, and nothing it refers to is missing. schemathesis (OpenAPIConformanceTests) checks the answers.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// The API's part of the server: the console's pages are HTML, not API operations.
    static func isAPI(_ path: String) -> Bool {
        path.hasPrefix("/api/") || ["/metrics", "/healthz", "/readyz", "/-/healthy", "/-/ready"].contains(path)
    }

    static let methods = ["get", "post", "put", "delete", "patch"]

    struct Served {
        var document: [String: Any]
        var endpoints: [Endpoint]
        var contentType: String?
        var status: HTTPResponse.Status
    }

    static func served() async throws -> Served {
        let (runtime, _) = try await makeRuntime(yaml: logFileYAML, name: "tocsin-openapi")
        defer { Task { await runtime.shutdown() } }
        let answer = try await Application(router: runtime.router()).test(.router) { client in
            let response = try await client.get("/api/v1/openapi.yaml")
            return (response.text, response.headers[.contentType], response.status)
        }
        let document = try #require(try Yams.load(yaml: answer.0) as? [String: Any])
        return Served(document: document, endpoints: runtime.makeRouter().endpoints, contentType: answer.1, status: answer.2)
    }

    /// Every operation of the document, as "METHOD path" with its `x-tocsin-access`.
    static func operations(_ document: [String: Any]) throws -> [String: String] {
        let paths = try #require(document["paths"] as? [String: Any])
        var operations: [String: String] = [:]
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "\(path) is not an object")
            for method in methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                operations["\(method.uppercased()) \(path)"] = operation["x-tocsin-access"] as? String ?? "(none)"
            }
        }
        return operations
    }

    @Test("is served as YAML to anyone, and is OpenAPI 3.0")
    func served() async throws {
        let served = try await Self.served()
        #expect(served.status == .ok)
        #expect(served.contentType?.hasPrefix("application/yaml") == true)
        #expect(served.document["openapi"] as? String == "3.0.3")
        #expect((served.document["info"] as? [String: Any])?["title"] as? String == "Tocsin HTTP API")
    }

    @Test("lists exactly the registered API endpoints, each with the access the router enforces")
    func matchesTheRouter() async throws {
        let served = try await Self.served()
        let documented = try Self.operations(served.document)
        var registered: [String: String] = [:]
        for endpoint in served.endpoints where Self.isAPI(endpoint.path) {
            registered["\(endpoint.method.rawValue) \(endpoint.path)"] = endpoint.access.rawValue
        }
        let missing = Set(registered.keys).subtracting(documented.keys).sorted()
        let extra = Set(documented.keys).subtracting(registered.keys).sorted()
        #expect(missing.isEmpty, "registered but not documented: \(missing)")
        #expect(extra.isEmpty, "documented but not registered: \(extra)")
        for (operation, access) in registered where documented[operation] != nil {
            #expect(documented[operation] == access, "\(operation): the router needs \(access), the document says \(documented[operation] ?? "")")
        }
        #expect(registered.count > 20)
    }

    @Test("declares every path parameter, and every operation that needs a credential documents 401 and 403")
    func parametersAndRefusals() async throws {
        let served = try await Self.served()
        let document = served.document
        let paths = try #require(document["paths"] as? [String: Any])
        for (path, item) in paths {
            let item = try #require(item as? [String: Any])
            let inPath = Set(path.split(separator: "{").dropFirst().compactMap { $0.split(separator: "}").first.map(String.init) })
            for method in Self.methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                let parameters = (operation["parameters"] as? [[String: Any]] ?? []).map { try? Self.resolve($0, in: document) }
                let declared = Set(parameters.compactMap { $0 }.filter { $0["in"] as? String == "path" }.compactMap { $0["name"] as? String })
                #expect(declared == inPath, "\(method) \(path): path parameters \(declared.sorted()) in the document, \(inPath.sorted()) in the path")
                let responses = try #require(operation["responses"] as? [String: Any], "\(method) \(path) has no responses")
                if operation["x-tocsin-access"] as? String != "public" {
                    #expect(responses["401"] != nil && responses["403"] != nil, "\(method) \(path) does not document 401 and 403")
                }
                #expect(operation["operationId"] is String, "\(method) \(path) has no operationId")
            }
        }
    }

    @Test("every reference resolves")
    func referencesResolve() async throws {
        let served = try await Self.served()
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(served.document)
        #expect(references.count > 50)
        for reference in Set(references) {
            #expect(Self.lookUp(reference, in: served.document) != nil, "\(reference) does not resolve")
        }
    }

    static func lookUp(_ reference: String, in document: [String: Any]) -> [String: Any]? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: Any = document
        for part in reference.dropFirst(2).split(separator: "/") {
            guard let object = node as? [String: Any], let next = object[String(part)] else { return nil }
            node = next
        }
        return node as? [String: Any]
    }

    static func resolve(_ object: [String: Any], in document: [String: Any]) throws -> [String: Any] {
        guard let reference = object["$ref"] as? String else { return object }
        return try #require(lookUp(reference, in: document), "\(reference) does not resolve")
    }
}
