import Engine
import Testing

@Suite struct EngineModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: EngineModule.self) == "EngineModule")
    }
}
