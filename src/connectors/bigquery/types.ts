/** A field of a BigQuery schema as the REST API returns it. */
export interface BqField {
  name: string;
  type: string;
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  description?: string;
  fields?: BqField[];
}

/**
 * BigQuery field type → DuckDB type. The REST API names some types two ways (legacy
 * INTEGER / FLOAT / BOOLEAN / RECORD and standard INT64 / FLOAT64 / BOOL / STRUCT).
 * Repeated and nested fields, GEOGRAPHY, INTERVAL and BIGNUMERIC (more digits than
 * DECIMAL(38) holds) arrive as JSON or text.
 */
export function duckTypeOf(field: Pick<BqField, 'type' | 'mode'>): string {
  if (field.mode === 'REPEATED') return 'JSON';
  switch (field.type.toUpperCase()) {
    case 'INT64':
    case 'INTEGER':
      return 'BIGINT';
    case 'FLOAT64':
    case 'FLOAT':
      return 'DOUBLE';
    case 'NUMERIC':
      return 'DECIMAL(38,9)';
    case 'BOOL':
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'TIMESTAMP':
    case 'DATETIME':
      return 'TIMESTAMP';
    case 'DATE':
      return 'DATE';
    case 'TIME':
      return 'TIME';
    case 'BYTES':
      return 'BLOB';
    case 'JSON':
    case 'RECORD':
    case 'STRUCT':
      return 'JSON';
    default:
      return 'VARCHAR';
  }
}

/**
 * The DuckDB expression that turns a column read as text (BigQuery's wire value) into its
 * type. TIMESTAMP comes as int64 microseconds since the epoch (`formatOptions.useInt64Timestamp`)
 * or, from older servers, float seconds; BYTES as base64.
 */
export function castExpr(column: string, field: Pick<BqField, 'type' | 'mode'>): string {
  const type = duckTypeOf(field);
  if (field.mode !== 'REPEATED') {
    switch (field.type.toUpperCase()) {
      case 'TIMESTAMP':
        return `CASE WHEN regexp_full_match(${column}, '-?[0-9]+') THEN make_timestamp(CAST(${column} AS BIGINT))
          ELSE make_timestamp(CAST(round(CAST(${column} AS DOUBLE) * 1000000) AS BIGINT)) END`;
      case 'BYTES':
        return `from_base64(${column})`;
    }
  }
  return `CAST(${column} AS ${type})`;
}

/** A cell of a REST row (`{v: …}`) as text: scalars as they come, records and arrays as JSON. */
export function wireText(value: unknown, field: BqField): string | null {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') {
    return JSON.stringify((value as Array<{ v: unknown }>).map((item) => plain(item.v, { ...field, mode: 'NULLABLE' })));
  }
  if (typeof value === 'object') return JSON.stringify(plain(value, field));
  return String(value);
}

/** A wire value as plain JSON (records as objects keyed by field name). */
function plain(value: unknown, field: BqField): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') return (value as Array<{ v: unknown }>).map((item) => plain(item.v, { ...field, mode: 'NULLABLE' }));
  const type = field.type.toUpperCase();
  if ((type === 'RECORD' || type === 'STRUCT') && field.fields) {
    const cells = (value as { f: Array<{ v: unknown }> }).f;
    return Object.fromEntries(field.fields.map((sub, i) => [sub.name, plain(cells[i]?.v, sub)]));
  }
  if (type === 'INT64' || type === 'INTEGER' || type === 'FLOAT64' || type === 'FLOAT') {
    const n = Number(value);
    return Number.isSafeInteger(n) || !/^-?\d+$/.test(String(value)) ? n : String(value);
  }
  if (type === 'BOOL' || type === 'BOOLEAN') return value === 'true';
  return value;
}

/** A BigQuery SQL literal of a watermark value, for `WHERE <column> >= <literal>`. */
export function watermarkLiteral(value: string, type: string): string {
  const quoted = `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  switch (type.toUpperCase()) {
    case 'INT64':
    case 'INTEGER':
      if (!/^-?\d+$/.test(value)) throw new Error(`watermark ${value} is not an integer`);
      return value;
    case 'DATE':
      return `DATE ${quoted}`;
    case 'DATETIME':
      return `DATETIME ${quoted}`;
    case 'TIMESTAMP':
      // Watermarks of TIMESTAMP columns are UTC wall-clock text.
      return `TIMESTAMP '${value.replace(/'/g, '')}+00:00'`;
    default:
      return quoted;
  }
}

/** `project.dataset.table` quoted for standard SQL. */
export function tablePath(project: string, dataset: string, table: string): string {
  return '`' + `${project}.${dataset}.${table}`.replace(/`/g, '') + '`';
}

/** A column name quoted for standard SQL. */
export function quoteBq(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}
