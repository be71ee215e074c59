import Foundation
import Hummingbird
import TocsinCore
import TocsinStore

extension API {
    /// Integrations and routing cells made through the API or the console.
    func registerManagedConfiguration(on endpoints: EndpointRegistrar) {}
}
