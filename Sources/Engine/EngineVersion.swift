/// The continuous-batching engine: requests in, tokens out, many sequences per forward call.
public enum EngineModule {}
