import Foundation
import Hummingbird
import TocsinCore
import TocsinStore

extension API {
    /// The web console's pages and assets.
    func registerConsole(on endpoints: EndpointRegistrar) {}
}
