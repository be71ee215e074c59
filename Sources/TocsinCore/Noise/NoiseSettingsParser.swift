/// Reads the noise-control keys of the `routing` section: `grouping` (and a category row's own `grouping`),
/// `flap_damping` and `inhibit_rules`. Problems are reported at their path, all at once.
enum NoiseSettingsParser {
    /// The keys of `routing` this parser owns (the routing matrix parser skips them).
    static let routingKeys: Set<String> = ["grouping", "flap_damping", "inhibit_rules"]

    static func parse(routing value: JSONValue?, problems: inout [ConfigProblem]) -> NoiseSettings {
        var settings = NoiseSettings()
        guard case .object(let routing)? = value else { return settings }
        if let grouping = routing["grouping"] {
            settings.grouping = policy(grouping, at: "routing.grouping", inheriting: .ungrouped, problems: &problems)
        }
        for category in Category.allCases {
            guard case .object(let row)? = routing[category.rawValue], let grouping = row["grouping"] else { continue }
            let path = "routing.\(category.rawValue).grouping"
            settings.categoryGrouping[category] = policy(grouping, at: path, inheriting: settings.grouping, problems: &problems)
        }
        if let flap = routing["flap_damping"] {
            settings.flapDamping = flapDamping(flap, problems: &problems)
        }
        if let rules = routing["inhibit_rules"] {
            settings.inhibitRules = inhibitRules(rules, problems: &problems)
        }
        return settings
    }

    /// A grouping policy; keys left out keep `inheriting`'s values (a category row inherits `routing.grouping`).
    static func policy(_ value: JSONValue, at path: String, inheriting base: GroupingPolicy, problems: inout [ConfigProblem]) -> GroupingPolicy {
        var policy = base
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return policy }
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "group_by":
                if case .string("...") = item {
                    policy.groupBy = .everyLabel
                } else if case .array(let names) = item {
                    var labels: [String] = []
                    for (index, name) in names.enumerated() {
                        guard case .string(let label) = name, !label.isEmpty else {
                            problems.append(ConfigProblem(path: "\(itemPath)[\(index)]", message: "expected a label name"))
                            continue
                        }
                        if label == "..." {
                            problems.append(ConfigProblem(path: itemPath, message: "'...' stands alone: write group_by: '...'"))
                        }
                        labels.append(label)
                    }
                    policy.groupBy = .labels(labels)
                } else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected a list of label names or '...', got \(item.typeName)"))
                }
            case "group_wait":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { policy.groupWait = duration }
            case "group_interval":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { policy.groupInterval = duration }
            case "repeat_interval":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) {
                    if duration <= .zero {
                        problems.append(ConfigProblem(path: itemPath, message: "must be more than zero"))
                    } else {
                        policy.repeatInterval = duration
                    }
                }
            case "window":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) {
                    if duration <= .zero {
                        problems.append(ConfigProblem(path: itemPath, message: "must be more than zero"))
                    } else {
                        policy.window = duration
                    }
                }
            default:
                problems.append(
                    ConfigProblem(
                        path: itemPath,
                        message: "unknown key (expected group_by, group_wait, group_interval, repeat_interval, window)"
                    )
                )
            }
        }
        return policy
    }

    private static func flapDamping(_ value: JSONValue, problems: inout [ConfigProblem]) -> FlapDamping? {
        let path = "routing.flap_damping"
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return nil }
        var damping = FlapDamping(window: .seconds(600), maxChanges: 4, settle: .seconds(600))
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "window":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { damping.window = duration }
            case "settle":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { damping.settle = duration }
            case "max_changes":
                guard case .number(let number) = item, number.rounded() == number, number >= 1, number < 1e6 else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected a whole number of at least 1"))
                    continue
                }
                damping.maxChanges = Int(number)
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected window, max_changes, settle)"))
            }
        }
        return damping
    }

    private static func inhibitRules(_ value: JSONValue, problems: inout [ConfigProblem]) -> [InhibitRule] {
        guard case .array(let items) = value else {
            problems.append(ConfigProblem(path: "routing.inhibit_rules", message: "expected a list, got \(value.typeName)"))
            return []
        }
        var rules: [InhibitRule] = []
        for (index, item) in items.enumerated() {
            let path = "routing.inhibit_rules[\(index)]"
            guard let object = ConfigValue.mapping(item, at: path, problems: &problems) else {
                if case .null = item { problems.append(ConfigProblem(path: path, message: "expected a mapping, got null")) }
                continue
            }
            var rule = InhibitRule(sourceMatchers: [], targetMatchers: [], equal: [])
            for (key, entry) in object.sorted(by: { $0.key < $1.key }) {
                let entryPath = "\(path).\(key)"
                switch key {
                case "source_matchers": rule.sourceMatchers = matchers(entry, at: entryPath, problems: &problems)
                case "target_matchers": rule.targetMatchers = matchers(entry, at: entryPath, problems: &problems)
                case "equal":
                    guard case .array(let names) = entry else {
                        problems.append(ConfigProblem(path: entryPath, message: "expected a list of label names, got \(entry.typeName)"))
                        continue
                    }
                    for (position, name) in names.enumerated() {
                        guard case .string(let label) = name, !label.isEmpty else {
                            problems.append(ConfigProblem(path: "\(entryPath)[\(position)]", message: "expected a label name"))
                            continue
                        }
                        rule.equal.append(label)
                    }
                default:
                    problems.append(ConfigProblem(path: entryPath, message: "unknown key (expected source_matchers, target_matchers, equal)"))
                }
            }
            if rule.sourceMatchers.isEmpty || rule.targetMatchers.isEmpty {
                problems.append(ConfigProblem(path: path, message: "needs source_matchers and target_matchers (at least one each)"))
                continue
            }
            rules.append(rule)
        }
        return rules
    }

    private static func matchers(_ value: JSONValue, at path: String, problems: inout [ConfigProblem]) -> [LabelMatcher] {
        guard case .array(let items) = value else {
            problems.append(ConfigProblem(path: path, message: "expected a list of matchers such as alertname=\"ClusterDown\""))
            return []
        }
        var matchers: [LabelMatcher] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                problems.append(ConfigProblem(path: "\(path)[\(index)]", message: "expected a matcher string, got \(item.typeName)"))
                continue
            }
            do {
                matchers.append(try LabelMatcher.parse(text))
            } catch {
                problems.append(ConfigProblem(path: "\(path)[\(index)]", message: error.message))
            }
        }
        return matchers
    }
}
