import Foundation
import Hummingbird
import TocsinCore
import TocsinSinks
import TocsinStore

/// The integrations and routing pages, rendered from the views the managed-configuration API answers.
extension API {
    func integrationsPage(_ page: ConsolePage) async throws -> Response {
        let views = await integrationViews()
        let byType = Dictionary(grouping: views, by: \.type)
        let types: [[String: Any]] = byType.keys.sorted().map { type in
            [
                "type": type,
                "items": byType[type, default: []].sorted { $0.name < $1.name }.map { view -> [String: Any] in
                    var values: [String: Any] = [
                        "name": view.name,
                        "type": view.type,
                        "managed": view.source == "managed",
                        "editable": view.editable,
                        // Already masked by the view: secrets never reach the page.
                        "settings": view.settings.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value.consoleText] },
                        "settingsJSON": JSONWriter.string(.object(view.item ?? view.settings)),
                        "hasProblem": view.problem != nil,
                        "problem": view.problem ?? "",
                    ]
                    if let by = view.updatedBy { values["updatedBy"] = by }
                    return values
                },
            ]
        }
        let common = IntegrationFields.common.filter { $0.key != "name" && $0.key != "type" }
        let commonJSON = (try? JSONResponse.encoder.encode(common)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return page.render(
            "integrations",
            title: "Integrations",
            values: [
                "types": types, "hasIntegrations": !types.isEmpty, "managedAvailable": true,
                "typeNames": IntegrationFields.types.map { ["type": $0.type, "label": $0.label] }, "commonFields": commonJSON,
            ]
        )
    }

    func routingPage(_ page: ConsolePage) async throws -> Response {
        let view = await routingView()
        let rows: [[String: Any]] = view.rows.map { row in
            [
                "scope": row.scope,
                "cells": row.cells.map { cell -> [String: Any] in
                    [
                        "scope": row.scope,
                        "severity": cell.severity,
                        "isCategory": row.scope != "global",
                        "integrations": cell.integrations.map { ["name": $0, "editable": cell.editable && page.canEdit] },
                        "integrationsJSON": JSONWriter.string(.array(cell.integrations.map { .string($0) })),
                        "override": cell.override,
                        "fromFile": cell.source == "file",
                        "editable": cell.editable && page.canEdit,
                        "choices": view.integrations.filter { !cell.integrations.contains($0) },
                    ]
                },
            ]
        }
        return page.render(
            "routing",
            title: "Routing",
            values: [
                "rows": rows,
                "severities": Severity.allCases.map(\.rawValue),
                "categories": Category.allCases.map(\.rawValue),
                "hasDefault": !view.defaultRoute.isEmpty,
                "defaultRoute": view.defaultRoute.joined(separator: ", "),
            ]
        )
    }
}

extension JSONValue {
    /// Strings as they are, anything else as compact JSON: how the console shows a setting.
    var consoleText: String {
        if case .string(let text) = self { return text }
        return JSONWriter.string(self)
    }
}
