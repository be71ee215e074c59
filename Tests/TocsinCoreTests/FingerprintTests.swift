import Testing
import TocsinCore

@Suite("Fingerprint")
struct FingerprintTests {
    @Test("stable regardless of the order labels were built in")
    func orderIndependent() {
        var forward: [String: String] = [:]
        for (name, value) in [("cluster", "prod"), ("dc", "eu-1"), ("node", "n3"), ("alertname", "DiskFull")] {
            forward[name] = value
        }
        var backward: [String: String] = [:]
        for (name, value) in [("alertname", "DiskFull"), ("node", "n3"), ("dc", "eu-1"), ("cluster", "prod")] {
            backward[name] = value
        }
        #expect(Fingerprint.of(labels: forward) == Fingerprint.of(labels: backward))
        #expect(Fingerprint.of(labels: forward) == Fingerprint.of(labels: forward))
    }

    @Test("a short lowercase hex string")
    func shape() {
        let fingerprint = Fingerprint.of(labels: ["node": "n1"])
        #expect(fingerprint.count == 16)
        #expect(fingerprint.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(Fingerprint.of(key: "backup-prod").count == 16)
    }

    @Test("different label sets give different fingerprints")
    func differentSets() {
        let sets: [[String: String]] = [
            [:],
            ["node": "n1"],
            ["node": "n2"],
            ["node": "n1", "dc": "eu"],
            ["nodes": "n1"],
            ["node": "N1"],
        ]
        let fingerprints = sets.map { Fingerprint.of(labels: $0) }
        #expect(Set(fingerprints).count == sets.count)
    }

    @Test("label sets that collide under naive concatenation differ")
    func naiveConcatenationCollisions() {
        let pairs: [([String: String], [String: String])] = [
            (["a": "bc"], ["ab": "c"]),
            (["a": "b", "c": "d"], ["a": "bc", "": "d"]),
            (["a": "b=c"], ["a=b": "c"]),
            (["a": "b,c=d"], ["a": "b", "c": "d"]),
            (["a": "1:b"], ["a:1": "b"]),
            (["x": ""], ["": "x"]),
        ]
        for (left, right) in pairs {
            #expect(Fingerprint.of(labels: left) != Fingerprint.of(labels: right), "\(left) vs \(right)")
        }
    }

    @Test("a key fingerprint differs from a labels fingerprint")
    func keyVersusLabels() {
        #expect(Fingerprint.of(key: "backup-prod") == Fingerprint.of(key: "backup-prod"))
        #expect(Fingerprint.of(key: "backup-prod") != Fingerprint.of(key: "backup-test"))
        #expect(Fingerprint.of(key: "node") != Fingerprint.of(labels: ["node": ""]))
        #expect(Fingerprint.of(key: "") != Fingerprint.of(labels: [:]))
        #expect(Fingerprint.of(key: "a") != Fingerprint.of(labels: ["key": "a"]))
    }
}
