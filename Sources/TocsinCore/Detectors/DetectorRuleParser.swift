import Foundation

/// Parses the `detectors:` configuration section. Every problem is reported with its path, all at once; unknown keys
/// are refused.
public enum DetectorRuleParser {
    static let ruleKeys = [
        "name", "metric", "ratio", "comparator", "warning", "critical", "for", "clear", "clear_for", "stale", "category",
        "group_by", "summary", "description",
    ]

    /// The rules of the section (the built-in pack's threshold rules first, unless disabled) and its problems.
    public static func parse(_ value: JSONValue, path: String) -> (rules: [ThresholdRule], problems: [ConfigProblem]) {
        let (settings, problems) = parseSettings(value, path: path)
        return (settings.rules, problems)
    }

    /// The whole section: threshold rules and the consensus detector.
    public static func parseSettings(_ value: JSONValue, path: String) -> (settings: DetectorSettings, problems: [ConfigProblem]) {
        var problems: [ConfigProblem] = []
        var settings = BuiltInDetectors.pack()
        if case .null = value { return (settings, problems) }
        guard case .object(let object) = value else {
            return (DetectorSettings(), [ConfigProblem(path: path, message: "expected a mapping, got \(value.typeName)")])
        }
        var custom: [ThresholdRule] = []
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "builtin":
                if let pack = parseBuiltIn(item, path: itemPath, problems: &problems) { settings = pack }
            case "rules":
                guard case .array(let items) = item else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected a list, got \(item.typeName)"))
                    continue
                }
                for (index, ruleValue) in items.enumerated() {
                    if let rule = parseRule(ruleValue, path: "\(itemPath)[\(index)]", problems: &problems) { custom.append(rule) }
                }
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected builtin, rules)"))
            }
        }
        var seen = Set(settings.rules.map(\.name))
        if let consensus = settings.consensus { seen.insert(consensus.name) }
        for (index, rule) in custom.enumerated() where !seen.insert(rule.name).inserted {
            problems.append(ConfigProblem(path: "\(path).rules[\(index)].name", message: "duplicate detector name '\(rule.name)'"))
        }
        settings.rules += custom
        return (settings, problems)
    }

    // MARK: built-in pack

    private static func parseBuiltIn(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> DetectorSettings? {
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return nil }
        var enabled = true
        var names = BuiltInMetricNames()
        var levels = BuiltInLevels()
        var consensusEnabled = true
        var consensus = GossipConsensusRule()
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "enabled":
                if let flag = bool(item, path: itemPath, problems: &problems) { enabled = flag }
            case "load_per_core":
                if let number = positive(item, path: itemPath, problems: &problems) { levels.loadPerCore = number }
            case "disk_used_percent":
                if let number = percent(item, path: itemPath, problems: &problems) { levels.diskUsedPercent = number }
            case "memory_used_percent":
                if let number = percent(item, path: itemPath, problems: &problems) { levels.memoryUsedPercent = number }
            case "metric_names":
                guard let map = ConfigValue.mapping(item, at: itemPath, problems: &problems) else { continue }
                for (name, nameValue) in map.sorted(by: { $0.key < $1.key }) {
                    let namePath = "\(itemPath).\(name)"
                    guard let text = metricName(nameValue, path: namePath, problems: &problems) else { continue }
                    switch name {
                    case "load_average_1m": names.loadAverage1m = text
                    case "cpu_physical_cores": names.cpuPhysicalCores = text
                    case "disk_used_percent": names.diskUsedPercent = text
                    case "memory_used_percent": names.memoryUsedPercent = text
                    case "gossip_view": names.gossipView = text
                    case "gossip_query_failed": names.gossipQueryFailed = text
                    default:
                        problems.append(
                            ConfigProblem(
                                path: namePath,
                                message: "unknown key (expected load_average_1m, cpu_physical_cores, disk_used_percent, "
                                    + "memory_used_percent, gossip_view, gossip_query_failed)"
                            )
                        )
                    }
                }
            case "consensus":
                guard let map = ConfigValue.mapping(item, at: itemPath, problems: &problems) else { continue }
                for (name, field) in map.sorted(by: { $0.key < $1.key }) {
                    let fieldPath = "\(itemPath).\(name)"
                    switch name {
                    case "enabled":
                        if let flag = bool(field, path: fieldPath, problems: &problems) { consensusEnabled = flag }
                    case "window":
                        if let duration = ConfigValue.duration(field, at: fieldPath, problems: &problems) {
                            if duration == .zero {
                                problems.append(ConfigProblem(path: fieldPath, message: "must be longer than 0s"))
                            } else {
                                consensus.window = duration
                            }
                        }
                    case "for":
                        if let duration = ConfigValue.duration(field, at: fieldPath, problems: &problems) { consensus.forDuration = duration }
                    case "clear_for":
                        if let duration = ConfigValue.duration(field, at: fieldPath, problems: &problems) { consensus.clearFor = duration }
                    case "severity":
                        if let severity = severity(field, path: fieldPath, problems: &problems) { consensus.severity = severity }
                    default:
                        problems.append(ConfigProblem(path: fieldPath, message: "unknown key (expected enabled, window, for, clear_for, severity)"))
                    }
                }
            default:
                problems.append(
                    ConfigProblem(
                        path: itemPath,
                        message: "unknown key (expected enabled, metric_names, load_per_core, disk_used_percent, memory_used_percent, consensus)"
                    )
                )
            }
        }
        guard enabled else { return DetectorSettings() }
        var pack = BuiltInDetectors.pack(metricNames: names, levels: levels)
        if consensusEnabled {
            consensus.viewMetric = names.gossipView
            consensus.failedMetric = names.gossipQueryFailed
            pack.consensus = consensus
        } else {
            pack.consensus = nil
        }
        return pack
    }

    // MARK: rules

    private static func parseRule(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> ThresholdRule? {
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else {
            if case .null = value { problems.append(ConfigProblem(path: path, message: "expected a mapping, got null")) }
            return nil
        }
        let before = problems.count
        var rule = ThresholdRule(name: "", expression: .metric(""))
        var name: String?
        var expression: MetricExpression?
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "name":
                guard let text = string(item, path: itemPath, problems: &problems) else { continue }
                if text.isEmpty || text.contains(where: { $0.isWhitespace }) {
                    problems.append(ConfigProblem(path: itemPath, message: "must be non-empty without spaces"))
                } else {
                    name = text
                }
            case "metric":
                if object["ratio"] != nil {
                    problems.append(ConfigProblem(path: itemPath, message: "give either metric or ratio, not both"))
                } else if let text = metricName(item, path: itemPath, problems: &problems) {
                    expression = .metric(text)
                }
            case "ratio":
                guard object["metric"] == nil, let map = ConfigValue.mapping(item, at: itemPath, problems: &problems) else { continue }
                var numerator: String?
                var denominator: String?
                for (part, partValue) in map.sorted(by: { $0.key < $1.key }) {
                    let partPath = "\(itemPath).\(part)"
                    switch part {
                    case "numerator": numerator = metricName(partValue, path: partPath, problems: &problems)
                    case "denominator": denominator = metricName(partValue, path: partPath, problems: &problems)
                    default: problems.append(ConfigProblem(path: partPath, message: "unknown key (expected numerator, denominator)"))
                    }
                }
                if map["numerator"] == nil { problems.append(ConfigProblem(path: "\(itemPath).numerator", message: "is required")) }
                if map["denominator"] == nil { problems.append(ConfigProblem(path: "\(itemPath).denominator", message: "is required")) }
                if let numerator, let denominator { expression = .ratio(numerator: numerator, denominator: denominator) }
            case "comparator":
                guard let text = string(item, path: itemPath, problems: &problems) else { continue }
                if let comparator = ThresholdComparator(rawValue: text) {
                    rule.comparator = comparator
                } else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected one of >, >=, <, <=; got '\(text)'"))
                }
            case "warning": rule.warning = number(item, path: itemPath, problems: &problems)
            case "critical": rule.critical = number(item, path: itemPath, problems: &problems)
            case "clear": rule.clearLevel = number(item, path: itemPath, problems: &problems)
            case "for":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { rule.forDuration = duration }
            case "clear_for":
                if let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) { rule.clearFor = duration }
            case "stale": rule.staleness = parseStaleness(item, path: itemPath, problems: &problems)
            case "category":
                guard let text = string(item, path: itemPath, problems: &problems) else { continue }
                if let category = Category(rawValue: text) {
                    rule.category = category
                } else {
                    let known = Category.allCases.map(\.rawValue).joined(separator: ", ")
                    problems.append(ConfigProblem(path: itemPath, message: "unknown category '\(text)' (known: \(known))"))
                }
            case "group_by":
                guard case .array(let items) = item else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected a list of label names, got \(item.typeName)"))
                    continue
                }
                var labels: [String] = []
                for (index, label) in items.enumerated() {
                    if case .string(let text) = label, !text.isEmpty {
                        labels.append(text)
                    } else {
                        problems.append(ConfigProblem(path: "\(itemPath)[\(index)]", message: "expected a label name"))
                    }
                }
                rule.groupBy = labels
            case "summary": rule.summary = string(item, path: itemPath, problems: &problems) ?? ""
            case "description": rule.description = string(item, path: itemPath, problems: &problems) ?? ""
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected \(ruleKeys.joined(separator: ", ")))"))
            }
        }
        if object["name"] == nil { problems.append(ConfigProblem(path: "\(path).name", message: "is required")) }
        if object["metric"] == nil, object["ratio"] == nil {
            problems.append(ConfigProblem(path: "\(path).metric", message: "is required (or ratio)"))
        }
        if object["warning"] == nil, object["critical"] == nil {
            problems.append(ConfigProblem(path: path, message: "give warning, critical or both"))
        }
        let upward = rule.comparator.isUpward
        if let warning = rule.warning, let critical = rule.critical, upward ? warning > critical : warning < critical {
            problems.append(
                ConfigProblem(path: "\(path).critical", message: "must be at least as severe as warning for comparator \(rule.comparator.rawValue)")
            )
        }
        if let clear = rule.clearLevel, let least = rule.warning ?? rule.critical, upward ? clear > least : clear < least {
            problems.append(
                ConfigProblem(
                    path: "\(path).clear",
                    message: "must not be past the lowest firing level \(DetectorText.number(least)) for comparator \(rule.comparator.rawValue)"
                )
            )
        }
        guard problems.count == before, let name, let expression else { return nil }
        rule.name = name
        rule.expression = expression
        if rule.summary.isEmpty { rule.summary = name }
        return rule
    }

    private static func parseStaleness(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> Staleness? {
        guard let object = ConfigValue.mapping(value, at: path, problems: &problems) else { return nil }
        var after: Duration?
        var action = StalenessAction.resolve
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "after":
                guard let duration = ConfigValue.duration(item, at: itemPath, problems: &problems) else { continue }
                if duration == .zero {
                    problems.append(ConfigProblem(path: itemPath, message: "must be longer than 0s"))
                } else {
                    after = duration
                }
            case "action":
                guard let text = string(item, path: itemPath, problems: &problems) else { continue }
                if let parsed = StalenessAction(rawValue: text) {
                    action = parsed
                } else {
                    problems.append(ConfigProblem(path: itemPath, message: "expected resolve or no_data; got '\(text)'"))
                }
            default:
                problems.append(ConfigProblem(path: itemPath, message: "unknown key (expected after, action)"))
            }
        }
        if object["after"] == nil { problems.append(ConfigProblem(path: "\(path).after", message: "is required")) }
        return after.map { Staleness(after: $0, action: action) }
    }

    // MARK: value helpers

    private static func string(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> String? {
        guard case .string(let text) = value else {
            problems.append(ConfigProblem(path: path, message: "expected a string, got \(value.typeName)"))
            return nil
        }
        return text
    }

    private static func metricName(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> String? {
        guard let text = string(value, path: path, problems: &problems) else { return nil }
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace }) else {
            problems.append(ConfigProblem(path: path, message: "expected a metric name without spaces, got '\(text)'"))
            return nil
        }
        return text
    }

    private static func number(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> Double? {
        guard case .number(let number) = value, number.isFinite else {
            problems.append(ConfigProblem(path: path, message: "expected a number, got \(value.typeName)"))
            return nil
        }
        return number
    }

    private static func positive(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> Double? {
        guard let number = number(value, path: path, problems: &problems) else { return nil }
        guard number > 0 else {
            problems.append(ConfigProblem(path: path, message: "must be greater than 0"))
            return nil
        }
        return number
    }

    private static func percent(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> Double? {
        guard let number = number(value, path: path, problems: &problems) else { return nil }
        guard number > 0, number < 100 else {
            problems.append(ConfigProblem(path: path, message: "expected a percentage between 0 and 100"))
            return nil
        }
        return number
    }

    private static func bool(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> Bool? {
        guard case .bool(let flag) = value else {
            problems.append(ConfigProblem(path: path, message: "expected true or false, got \(value.typeName)"))
            return nil
        }
        return flag
    }

    private static func severity(_ value: JSONValue, path: String, problems: inout [ConfigProblem]) -> Severity? {
        guard let text = string(value, path: path, problems: &problems) else { return nil }
        guard let severity = Severity(rawValue: text) else {
            problems.append(ConfigProblem(path: path, message: "expected info, warning, error or critical; got '\(text)'"))
            return nil
        }
        return severity
    }

}
