/// Scribe's version, sent in `User-Agent` and stored with workers.
public enum ScribeVersion {
    public static let string = "0.1.0"
}
