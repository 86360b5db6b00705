import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { type K8sObject, named, parseYamlObjects } from './manifests';
import { findTool, repoPath } from './repo';

/** Where the monitoring Component lives (infra/observability). */
export const observabilityDir = repoPath('infra', 'observability');

/** One rule of a Prometheus rule group. */
export interface PrometheusRuleEntry {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Prometheus rule file: what a PrometheusRule's `spec` holds. */
export interface RuleFile {
  groups: Array<{ name: string; interval?: string; rules: PrometheusRuleEntry[] }>;
}

/** The PrometheusRule `ticketing` as written in infra/observability (the one source of the alerts). */
export function prometheusRule(): K8sObject & { spec: RuleFile } {
  const file = `${observabilityDir}/prometheus-rules.yaml`;
  return named<K8sObject & { spec: RuleFile }>(
    parseYamlObjects(readFileSync(file, 'utf8'), file),
    'PrometheusRule',
    'ticketing',
  );
}

/** The rule file promtool reads: the spec of a PrometheusRule, as YAML. */
export function ruleFileText(rule: { spec: RuleFile }): string {
  return stringify(rule.spec, { lineWidth: 0 });
}

/** Every rule of a rule file, with its group. */
export function rulesOf(file: RuleFile): Array<PrometheusRuleEntry & { group: string }> {
  return file.groups.flatMap((group) => group.rules.map((rule) => ({ ...rule, group: group.name })));
}

/** The part of a Grafana dashboard the checks read. */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> };
  panels: GrafanaPanel[];
}

/** A Grafana panel (rows hold their own `panels` when collapsed). */
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ refId: string; expr: string; legendFormat?: string; datasource?: { uid: string } }>;
  panels?: GrafanaPanel[];
}

/** The dashboards of infra/observability/dashboards, by file name. */
export function dashboardFiles(): Record<string, string> {
  return { 'ticketing.json': readFileSync(`${observabilityDir}/dashboards/ticketing.json`, 'utf8') };
}

/** Every panel of a dashboard, those inside rows included. */
export function panelsOf(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Grafana's built-in variables the queries may use, with a value Prometheus accepts in their place. */
const builtInVariables: Record<string, string> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '1h',
};

/**
 * A dashboard query as Prometheus will receive it: `$var` / `${var}` replaced by the dashboard's variables
 * (`.*`, they stand in label regexes) and Grafana's built-ins by a duration. Throws on an unknown variable.
 */
export function expandDashboardQuery(expr: string, variables: string[]): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (_whole, name: string) => {
    if (name in builtInVariables) return builtInVariables[name]!;
    if (variables.includes(name)) return '.*';
    throw new Error(`unknown dashboard variable $${name} in: ${expr}`);
  });
}

/** Output of a tool run: exit code and what it printed. */
export interface ToolRun {
  code: number;
  output: string;
}

/** Runs promtool (`.ci/install-tools.sh` builds it) with `args`. */
export function promtool(args: string[], cwd?: string): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(findTool('promtool'), args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}
