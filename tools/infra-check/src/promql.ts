/** The part of a lezer syntax tree node the checks walk. */
interface PromqlNode {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly type: { readonly isError: boolean };
  readonly firstChild: PromqlNode | null;
  readonly nextSibling: PromqlNode | null;
}

// The package ships CommonJS (dist/index.cjs) beside its ES module, but its one type file is an ES module's,
// which a CommonJS package cannot import: load the CommonJS build and describe the little it is used for.
const { parser } = require('@prometheus-io/lezer-promql') as {
  parser: { parse(input: string): { topNode: PromqlNode } };
};

/** One vector selector of an expression: the metric it names and its equality label matchers. */
export interface Selector {
  /** The metric name (empty when the selector names none, e.g. `{job="x"}`). */
  metric: string;
  /** `label="value"` matchers (other operators are left out: they do not pin a value). */
  equals: Record<string, string>;
  /** The selector as written. */
  text: string;
}

/** What an expression uses, or why it is not PromQL. */
export interface ParsedExpression {
  selectors: Selector[];
  /** Syntax errors, with the text around them (empty when the expression parses). */
  errors: string[];
}

function children(node: PromqlNode, name?: string): PromqlNode[] {
  const found: PromqlNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) {
    if (!name || child.name === name) found.push(child);
  }
  return found;
}

/**
 * Parses PromQL with Prometheus' own grammar (@prometheus-io/lezer-promql, the one its UI uses) and lists the
 * vector selectors. promtool checks rule files as a whole; this also reaches the dashboard's queries and tells
 * which metrics every expression reads.
 */
export function parsePromql(expr: string): ParsedExpression {
  const text = (node: PromqlNode) => expr.slice(node.from, node.to);
  const selectors: Selector[] = [];
  const errors: string[] = [];
  const visit = (node: PromqlNode) => {
    if (node.type.isError) {
      errors.push(
        `syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from + 20)}…`,
      );
    }
    if (node.name === 'VectorSelector') {
      const selector: Selector = { metric: '', equals: {}, text: text(node) };
      for (const identifier of children(node, 'Identifier')) selector.metric = text(identifier);
      for (const matchers of children(node, 'LabelMatchers')) {
        for (const matcher of children(matchers, 'UnquotedLabelMatcher')) {
          const [name] = children(matcher, 'LabelName');
          const [op] = children(matcher, 'MatchOp');
          const [value] = children(matcher, 'StringLiteral');
          if (!name || !op || !value || text(op) !== '=') continue;
          selector.equals[text(name)] = JSON.parse(text(value).replace(/^'|'$/g, '"'));
        }
      }
      selectors.push(selector);
    }
    for (const child of children(node)) visit(child);
  };
  visit(parser.parse(expr).topNode);
  return { selectors, errors };
}

/** Series Prometheus makes itself for every target or rule: not exposed by anything it scrapes. */
export const synthesizedSeries = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
  'ALERTS',
  'ALERTS_FOR_STATE',
]);

/** A metric family of a /metrics page: its name and type (`# TYPE`). */
export interface MetricFamily {
  name: string;
  type: string;
}

/** The families a Prometheus text exposition declares (`# TYPE` lines), in order. */
export function exposedFamilies(text: string): MetricFamily[] {
  const families: MetricFamily[] = [];
  for (const line of text.split('\n')) {
    const match = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)\s*$/.exec(line);
    if (match) families.push({ name: match[1]!, type: match[2]! });
  }
  return families;
}

/** The series names a family's samples carry: a histogram's `_bucket`, `_sum`, `_count`, a summary's too. */
export function seriesNames(family: MetricFamily): string[] {
  if (family.type === 'histogram') return ['_bucket', '_sum', '_count'].map((s) => family.name + s);
  if (family.type === 'summary') return [family.name, `${family.name}_sum`, `${family.name}_count`];
  return [family.name];
}
