/// A one-dimensional array parameter in PostgreSQL's text format (`{"1","2",NULL}`),
/// cast in SQL to the element type: `WHERE id = ANY($1::bigint[])`.
public struct PostgresArray: PostgresEncodable {
    private let elements: [(any PostgresEncodable)?]

    public init(_ elements: [(any PostgresEncodable)?]) {
        self.elements = elements
    }

    public var postgresText: String {
        var text = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            guard let element else {
                text += "NULL"
                continue
            }
            // Quoted, so commas, braces, spaces and the word NULL are plain text; inside
            // quotes only the backslash and the double quote need escaping.
            text += "\""
            for character in element.postgresText {
                if character == "\"" || character == "\\" { text += "\\" }
                text.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}
