import Foundation
import TocsinCore
import TocsinTestSupport

/// The body Alertmanager sends its webhook receivers, as a JSON Schema. Alertmanager publishes no schema for it, so
/// this one is written from the Go types that are marshalled (prometheus/alertmanager, commit 01b7141f:
/// `notify/webhook/webhook.go` `Message` — `version`, `groupKey`, `truncatedAlerts` over an embedded
/// `template.Data`; `template/template.go` `Data`, `Alert` and `KV`, a map of strings). Go's `time.Time` marshals as
/// RFC 3339, its zero value as `0001-01-01T00:00:00Z`. The semantic rules the Go code follows (the group's status,
/// the common labels) are checked by ``violations(_:)`` on top.
enum AlertmanagerWebhookSchema {
    static let text = #"""
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "Alertmanager webhook payload, version 4",
          "type": "object",
          "additionalProperties": false,
          "required": [
            "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
            "commonAnnotations", "externalURL", "alerts"
          ],
          "properties": {
            "version": {"const": "4"},
            "groupKey": {"type": "string", "minLength": 1},
            "truncatedAlerts": {"type": "integer", "minimum": 0},
            "status": {"enum": ["firing", "resolved"]},
            "receiver": {"type": "string"},
            "groupLabels": {"$ref": "#/definitions/KV"},
            "commonLabels": {"$ref": "#/definitions/KV"},
            "commonAnnotations": {"$ref": "#/definitions/KV"},
            "externalURL": {"type": "string"},
            "alerts": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/Alert"}}
          },
          "definitions": {
            "KV": {"type": "object", "additionalProperties": {"type": "string"}},
            "Time": {
              "type": "string",
              "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
            },
            "Alert": {
              "type": "object",
              "additionalProperties": false,
              "required": ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"],
              "properties": {
                "status": {"enum": ["firing", "resolved"]},
                "labels": {"$ref": "#/definitions/KV"},
                "annotations": {"$ref": "#/definitions/KV"},
                "startsAt": {"$ref": "#/definitions/Time"},
                "endsAt": {"$ref": "#/definitions/Time"},
                "generatorURL": {"type": "string"},
                "fingerprint": {"type": "string", "minLength": 1}
              }
            }
          }
        }
        """#

    static let zeroTime = "0001-01-01T00:00:00Z"

    /// The schema's violations, then those of the rules `template.Data` follows: the status is `firing` while any
    /// alert fires; common labels and annotations are exactly those every alert has with the same value; a firing
    /// alert has no end, a resolved one has.
    static func violations(_ body: [UInt8]) async throws -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tocsin-am-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let schemaFile = directory.appendingPathComponent("alertmanager-webhook.json")
        try Data(text.utf8).write(to: schemaFile)
        var found = try await JSONSchemaCheck.violations(of: body, schemaFile: schemaFile.path)
        guard found.isEmpty else { return found }

        let payload = try JSONValue.decode(body)
        let alerts = (0..<(payload["alerts"]?.count ?? 0)).compactMap { payload["alerts"]?[$0] }
        let anyFiring = alerts.contains { $0["status"]?.stringValue == "firing" }
        if payload["status"]?.stringValue != (anyFiring ? "firing" : "resolved") {
            found.append("status: \(payload["status"]?.stringValue ?? "-") with \(anyFiring ? "a firing alert" : "no firing alert")")
        }
        for name in ["labels", "annotations"] {
            let maps = alerts.map { $0[name]?.stringMap ?? [:] }
            var common = maps.first ?? [:]
            for map in maps.dropFirst() { common = common.filter { map[$0.key] == $0.value } }
            let field = name == "labels" ? "commonLabels" : "commonAnnotations"
            if payload[field]?.stringMap != common { found.append("\(field): not the \(name) every alert shares") }
        }
        for (index, alert) in alerts.enumerated() {
            let ends = alert["endsAt"]?.stringValue
            if alert["status"]?.stringValue == "firing", ends != zeroTime { found.append("alerts/\(index)/endsAt: a firing alert ends") }
            if alert["status"]?.stringValue == "resolved", ends == zeroTime { found.append("alerts/\(index)/endsAt: a resolved alert without end") }
        }
        return found
    }
}
