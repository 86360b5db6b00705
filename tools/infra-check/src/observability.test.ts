import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { parse } from 'yaml';
import { serviceNames } from './contract';
import { type ExporterProbe, type ExposedMetrics, readExposedMetrics } from './exposed-metrics';
import {
  containersOf,
  type K8sObject,
  named,
  natsConfigFiles,
  ofKind,
  renderOverlay,
  schemaProblems,
  selects,
  type Workload,
  workloads,
} from './manifests';
import { parseNatsConf } from './nats-conf';
import {
  dashboardFiles,
  expandDashboardQuery,
  type GrafanaDashboard,
  observabilityDir,
  panelsOf,
  promtool,
  type RuleFile,
  ruleFileText,
  rulesOf,
} from './observability';
import { parsePromql, seriesNames, synthesizedSeries } from './promql';

/** The jobs the PodMonitors give the series (pod-monitors.yaml), and who exposes each job's metrics. */
const jobs = { services: 'ticketing', nats: 'ticketing-nats' } as const;

interface PodMonitor extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    podMetricsEndpoints: Array<{
      port: string;
      path?: string;
      params?: Record<string, string[]>;
      honorLabels?: boolean;
      relabelings?: Array<{ sourceLabels?: string[]; targetLabel: string; replacement?: string }>;
    }>;
  };
}

const prod = () => renderOverlay('prod');
/** How every panel names its data source: the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template
const datasourceVariable = '${datasource}';
const prometheusRule = () => named<K8sObject & { spec: RuleFile }>(prod(), 'PrometheusRule', 'ticketing');
const dashboard = (): GrafanaDashboard => JSON.parse(dashboardFiles()['ticketing.json']!);
const dashboardVariables = (d: GrafanaDashboard) => d.templating.list.map((v) => v.name);

/** Every PromQL expression of the alerts and the dashboard, with where it comes from. */
function expressions(): Array<{ where: string; expr: string }> {
  const fromRules = rulesOf(prometheusRule().spec).map((rule) => ({
    where: `alert ${rule.alert ?? rule.record}`,
    expr: rule.expr,
  }));
  const d = dashboard();
  const fromDashboard = panelsOf(d).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: expandDashboardQuery(target.expr, dashboardVariables(d)),
    })),
  );
  const fromVariables = d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({
      where: `variable ${v.name}`,
      expr: expandDashboardQuery(
        String(v.definition).replace(/^label_values\((.*),\s*\w+\)$/, '$1'),
        dashboardVariables(d),
      ),
    }));
  return [...fromRules, ...fromDashboard, ...fromVariables];
}

/**
 * What is wrong with the metrics `exprs` read: a selector without a job of ours, or a metric its job does not
 * expose (`exposed`: series names by job).
 */
function metricProblems(
  exprs: Array<{ where: string; expr: string }>,
  exposed: Record<string, Set<string>>,
): string[] {
  const problems: string[] = [];
  for (const { where, expr } of exprs) {
    for (const selector of parsePromql(expr).selectors) {
      const job = selector.equals.job;
      if (!job || !exposed[job]) {
        problems.push(
          `${where}: ${selector.text} does not select job="${jobs.services}" or job="${jobs.nats}"`,
        );
      } else if (!synthesizedSeries.has(selector.metric) && !exposed[job].has(selector.metric)) {
        problems.push(`${where}: ${selector.metric} is not exposed by job="${job}"`);
      }
    }
  }
  return problems;
}

describe('alerts: the PrometheusRule of infra/observability, as overlay prod renders it', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'infra-check-rules-'));
    writeFileSync(join(dir, 'rules.yaml'), ruleFileText(prometheusRule()));
    copyFileSync(join(observabilityDir, 'alerts.test.yaml'), join(dir, 'alerts.test.yaml'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('promtool check rules accepts the rule file', async () => {
    const run = await promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(run).toEqual({ code: 0, output: expect.stringMatching(/SUCCESS: \d+ rules found/) });
  });

  test('promtool test rules: every alert fires as its unit test expects (alerts.test.yaml)', async () => {
    const run = await promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    expect(run).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
  });

  test('every alert has a unit test that makes it fire', () => {
    const tests = parse(readFileSync(join(observabilityDir, 'alerts.test.yaml'), 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    const fired = new Set(
      tests.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname),
      ),
    );
    const alerts = rulesOf(prometheusRule().spec).flatMap((rule) => (rule.alert ? [rule.alert] : []));
    expect(alerts.filter((alert) => !fired.has(alert))).toEqual([]);
  });

  test('promtool fails a broken rule and a unit test that does not hold (the checks can fail)', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'infra-check-rules-broken-'));
    try {
      const spec = prometheusRule().spec;
      const rule = spec.groups[0]!.rules[0]!;
      writeFileSync(
        join(broken, 'rules.yaml'),
        ruleFileText({
          spec: { groups: [{ name: 'x', rules: [{ ...rule, expr: 'up{job="ticketing"} ==' }] }] },
        }),
      );
      expect((await promtool(['check', 'rules', 'rules.yaml'], broken)).code).not.toBe(0);
      // The rules as they are, with every alert's threshold out of reach: the tests that expect alerts fail.
      const unreachable = {
        groups: spec.groups.map((group) => ({
          ...group,
          rules: group.rules.map((r) => ({ ...r, expr: `(${r.expr}) and on() vector(0) > 1` })),
        })),
      };
      writeFileSync(join(broken, 'rules.yaml'), ruleFileText({ spec: unreachable }));
      copyFileSync(join(observabilityDir, 'alerts.test.yaml'), join(broken, 'alerts.test.yaml'));
      const run = await promtool(['test', 'rules', 'alerts.test.yaml'], broken);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('FAILED');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  test('each alert: a unique name, severity warning or critical, a summary and a description', () => {
    const problems: string[] = [];
    const rules = rulesOf(prometheusRule().spec);
    const names = rules.map((rule) => rule.alert);
    for (const rule of rules) {
      if (!rule.alert) continue;
      if (names.indexOf(rule.alert) !== names.lastIndexOf(rule.alert)) problems.push(`${rule.alert}: twice`);
      if (!['warning', 'critical'].includes(rule.labels?.severity ?? ''))
        problems.push(`${rule.alert}: severity ${rule.labels?.severity}`);
      for (const key of ['summary', 'description']) {
        if (!rule.annotations?.[key]) problems.push(`${rule.alert}: no ${key}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the dashboard (infra/observability/dashboards/ticketing.json)', () => {
  test('a Grafana dashboard: uid, title, panels with unique ids inside 24 columns, on the datasource variable', () => {
    const d = dashboard();
    expect(d).toMatchObject({ uid: 'ticketing-overview', title: expect.any(String) });
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = panelsOf(d);
    const ids = panels.map((p) => p.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const problems: string[] = [];
    for (const panel of panels) {
      const { x, w } = panel.gridPos;
      if (x < 0 || w < 1 || x + w > 24) problems.push(`${panel.title}: outside the grid (x ${x}, w ${w})`);
      if (panel.type === 'row') continue;
      if (panel.datasource?.uid !== datasourceVariable) problems.push(`${panel.title}: not on $datasource`);
      if (!panel.description) problems.push(`${panel.title}: no description`);
      if ((panel.targets ?? []).length === 0) problems.push(`${panel.title}: no query`);
    }
    expect(problems).toEqual([]);
  });

  test('every query of the alerts and the dashboard is PromQL (Prometheus grammar) and selects one of our jobs', () => {
    const problems = expressions().flatMap(({ where, expr }) => [
      ...parsePromql(expr).errors.map((error) => `${where}: ${error}`),
      ...parsePromql(expr)
        .selectors.filter((s) => !Object.values(jobs).includes(s.equals.job as never))
        .map((s) => `${where}: ${s.text} selects no job of ours`),
    ]);
    expect(problems).toEqual([]);
  });

  test('the query check fails on bad PromQL and on unknown variables', () => {
    expect(parsePromql('sum(rate(x{job="ticketing"}[5m])').errors).not.toEqual([]);
    expect(parsePromql('sum by (service) (rate(x{job="ticketing"}[5m]))').errors).toEqual([]);
    expect(() => expandDashboardQuery('rate(x{pod=~"$pods"}[5m])', ['service'])).toThrow(/\$pods/);
  });
});

describe('every metric the alerts and the dashboard read is one the system really exposes', () => {
  let exposed: ExposedMetrics;
  let byJob: Record<string, Set<string>>;

  beforeAll(async () => {
    const probes: ExporterProbe[] = named<PodMonitor>(
      prod(),
      'PodMonitor',
      'ticketing-nats',
    ).spec.podMetricsEndpoints.map((endpoint) => ({
      module: endpoint.params!.module![0]!,
      target: endpoint.params!.target![0]!,
    }));
    exposed = await readExposedMetrics(probes);
    const names = (families: Array<{ name: string; type: string }>) => families.flatMap(seriesNames);
    byJob = {
      [jobs.services]: new Set(Object.values(exposed.services).flatMap(names)),
      [jobs.nats]: new Set(Object.values(exposed.nats).flatMap(names)),
    };
  }, 180_000);

  test('read from the six services started with their own code (/metrics) and from json-exporter on a real nats-server', () => {
    for (const service of serviceNames)
      expect([service, exposed.services[service].length > 10]).toEqual([service, true]);
    // The services' listeners made their durable consumers and their buses the streams, DLQ included.
    expect(exposed.pages['nats jsz']).toMatch(
      /nats_consumer_num_pending\{consumer="orders-ticket-created",stream="TICKETS"\}/,
    );
    expect(exposed.pages['nats jsz']).toMatch(/nats_stream_last_seq\{stream="DLQ"\}/);
    expect(exposed.pages['nats varz']).toMatch(/^nats_server_connections \d+/m);
  });

  test('no alert or panel reads a metric its job does not expose', () => {
    expect(metricProblems(expressions(), byJob)).toEqual([]);
  });

  test('the check fails on a misspelt metric, a metric of the other job and a selector without a job', () => {
    expect(
      metricProblems(
        [
          { where: 'a', expr: 'rate(outbox_publish_failure_total{job="ticketing"}[5m])' },
          { where: 'b', expr: 'nats_consumer_num_pending{job="ticketing"}' },
          { where: 'c', expr: 'outbox_pending_events' },
          { where: 'd', expr: 'up{job="ticketing-nats"} == 0' },
        ],
        byJob,
      ),
    ).toEqual([
      'a: outbox_publish_failure_total is not exposed by job="ticketing"',
      'b: nats_consumer_num_pending is not exposed by job="ticketing"',
      'c: outbox_pending_events does not select job="ticketing" or job="ticketing-nats"',
    ]);
  });

  test('every sample of every service carries its `service` label', () => {
    const problems: string[] = [];
    for (const service of serviceNames) {
      for (const line of exposed.pages[service]!.split('\n')) {
        if (line && !line.startsWith('#') && !line.includes(`service="${service}"`))
          problems.push(`${service}: ${line}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('monitoring in overlay prod (infra/observability, a kustomize Component)', () => {
  const container = (workload: Workload, name: string): IContainer => {
    const found = containersOf(workload).find((c) => c.name === name);
    if (!found) throw new Error(`${workload.metadata.name} has no container ${name}`);
    return found;
  };

  test('PrometheusRule and PodMonitors are valid against the Prometheus operator schema', () => {
    const objects = prod().filter((o) => o.apiVersion === 'monitoring.coreos.com/v1');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'PodMonitor/ticketing-nats',
      'PodMonitor/ticketing-services',
      'PrometheusRule/ticketing',
    ]);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    const bad = { ...objects[0]!, spec: { podMetricsEndpoints: [{ port: 3000 }] } };
    expect(schemaProblems(bad)).not.toEqual([]);
  });

  test('the services PodMonitor scrapes /metrics on the http port of exactly the six services, as job ticketing with their name as service', () => {
    const monitor = named<PodMonitor>(prod(), 'PodMonitor', 'ticketing-services');
    const selected = workloads(prod()).filter((w) =>
      selects(monitor.spec.selector.matchLabels, w.spec.template.metadata?.labels),
    );
    expect(selected.map((w) => w.metadata.name).sort()).toEqual([...serviceNames].sort());
    const [endpoint] = monitor.spec.podMetricsEndpoints;
    expect(monitor.spec.podMetricsEndpoints).toHaveLength(1);
    expect(endpoint).toMatchObject({ port: 'http', path: '/metrics', honorLabels: true });
    for (const workload of selected) {
      expect(containersOf(workload)[0]!.ports?.map((p) => p.name)).toContain('http');
      // `service` comes from the pod's name label, which is the service's name.
      expect(workload.spec.template.metadata?.labels?.['app.kubernetes.io/name']).toBe(
        workload.metadata.name,
      );
    }
    expect(endpoint!.relabelings).toEqual(
      expect.arrayContaining([
        { targetLabel: 'job', replacement: jobs.services },
        { sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], targetLabel: 'service' },
      ]),
    );
  });

  test('the NATS PodMonitor reads each NATS server through its json-exporter, which reads the monitoring port of nats.conf', () => {
    const objects = prod();
    const monitor = named<PodMonitor>(objects, 'PodMonitor', 'ticketing-nats');
    const selected = workloads(objects).filter((w) =>
      selects(monitor.spec.selector.matchLabels, w.spec.template.metadata?.labels),
    );
    expect(selected.map((w) => `${w.kind}/${w.metadata.name}`)).toEqual(['StatefulSet/nats']);
    const nats = selected[0]!;
    const exporter = container(nats, 'metrics');
    const httpPort = parseNatsConf('nats.conf', natsConfigFiles(objects)).http_port;
    const modules = Object.keys(
      (parse(readFileSync(join(observabilityDir, 'nats-exporter.yml'), 'utf8')) as { modules: object })
        .modules,
    );
    for (const endpoint of monitor.spec.podMetricsEndpoints) {
      expect(exporter.ports?.find((p) => p.name === endpoint.port)?.containerPort).toBe(7979);
      expect(endpoint.path).toBe('/probe');
      const module = endpoint.params?.module?.[0];
      expect(modules).toContain(module);
      expect(new URL(endpoint.params!.target![0]!).host).toBe(`127.0.0.1:${httpPort}`);
      expect(endpoint.relabelings).toEqual(
        expect.arrayContaining([
          { targetLabel: 'job', replacement: jobs.nats },
          { targetLabel: 'module', replacement: module },
        ]),
      );
    }
    // Its config is nats-exporter.yml, mounted from the generated ConfigMap.
    const configArg = (exporter.args ?? []).find((a) => a.startsWith('--config.file='))?.split('=')[1] ?? '';
    const mount = exporter.volumeMounts?.find((m) => configArg.startsWith(`${m.mountPath}/`));
    const volume = nats.spec.template.spec?.volumes?.find((v) => v.name === mount?.name);
    const configMap = named<{ data: Record<string, string> }>(objects, 'ConfigMap', volume!.configMap!.name!);
    expect(configMap.data[configArg.slice(mount!.mountPath.length + 1)]).toBe(
      readFileSync(join(observabilityDir, 'nats-exporter.yml'), 'utf8'),
    );
  });

  test('the dashboard is a ConfigMap Grafana picks up (label grafana_dashboard), holding the file as it is', () => {
    const configMap = named<{ data: Record<string, string> }>(
      prod(),
      'ConfigMap',
      'grafana-dashboard-ticketing',
    );
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(configMap.data).toEqual(dashboardFiles());
  });

  test('overlay dev needs no Prometheus operator: none of its objects', () => {
    const dev = renderOverlay('dev');
    expect(dev.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com'))).toEqual([]);
    expect(ofKind(dev, 'ConfigMap').map((c) => c.metadata.name)).not.toContain('grafana-dashboard-ticketing');
  });
});
