import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { imageName, serviceNames, webName } from './contract';
import { containersOf, type Overlay, renderOverlay, workloads } from './manifests';
import { repoPath } from './repo';
import {
  loadSkaffoldSchema,
  readSkaffoldConfig,
  SchemaMissingError,
  skaffoldSchemaPath,
  skaffoldSchemaProblems,
} from './skaffold';

const config = readSkaffoldConfig();

/** The images of the project's pods in an overlay (the third-party ones are pinned, not built). */
function projectImages(overlay: Overlay): string[] {
  const images = workloads(renderOverlay(overlay)).flatMap((w) => containersOf(w).map((c) => c.image ?? ''));
  return [...new Set(images.filter((image) => image.startsWith('ticketing/')))].sort();
}

describe('skaffold.yaml', () => {
  test(`is valid against skaffold's schema (${skaffoldSchemaPath})`, () => {
    const schema = loadSkaffoldSchema();
    expect(config.apiVersion).toBe('skaffold/v4beta14');
    expect(skaffoldSchemaProblems(config, schema)).toEqual([]);
  });

  test('a missing schema file is reported as missing, by path', () => {
    expect(() => loadSkaffoldSchema('/nonexistent/skaffold-v4beta14.json')).toThrow(SchemaMissingError);
    expect(() => loadSkaffoldSchema('/nonexistent/skaffold-v4beta14.json')).toThrow(
      /schema file is missing: \/nonexistent\/skaffold-v4beta14.json/,
    );
  });

  test('the schema check does fail on a bad config', () => {
    const schema = loadSkaffoldSchema();
    const bad = {
      ...config,
      build: { ...config.build, artifacts: [{ image: 'x', docker: { dockerFile: 'typo' } }] },
    };
    expect(skaffoldSchemaProblems(bad, schema).length).toBeGreaterThan(0);
  });

  test('one artifact per service and one for the shop: the root Dockerfile with SERVICE = its folder', () => {
    expect(config.build.artifacts).toEqual(
      [...serviceNames, webName].map((service) => ({
        image: imageName(service),
        docker: { buildArgs: { SERVICE: service } },
      })),
    );
    // skaffold's defaults, which the entries rely on: the repository root as context, its Dockerfile.
    type Properties = { properties: Record<string, { default?: string }> };
    const { definitions } = loadSkaffoldSchema() as {
      definitions: Record<string, Partial<Properties> & { anyOf?: Properties[] }>;
    };
    expect(definitions.Artifact?.anyOf?.[0]?.properties.context?.default).toBe('.');
    expect(definitions.DockerArtifact?.properties?.dockerfile?.default).toBe('Dockerfile');
    expect(existsSync(repoPath('Dockerfile'))).toBe(true);
    // Every folder under services/ is built, and nothing else: a new service is one more artifact.
    const folders = readdirSync(repoPath('services')).filter((folder) =>
      existsSync(repoPath('services', folder, 'package.json')),
    );
    const built = config.build.artifacts.map((artifact) => artifact.docker?.buildArgs?.SERVICE);
    expect(built.sort()).toEqual(folders.sort());
  });

  test.each<[string, Overlay]>([
    ['default (skaffold dev)', 'dev'],
    ['prod profile', 'prod'],
  ])('%s: deploys overlays/%s, whose Deployments run exactly the artifacts', (_label, overlay) => {
    const profile = config.profiles?.find((p) => p.name === overlay);
    const manifests = overlay === 'dev' ? config.manifests : profile?.manifests;
    const artifacts = (overlay === 'dev' ? config.build : (profile?.build ?? config.build)).artifacts;
    expect(manifests?.kustomize?.paths).toEqual([join('infra', 'k8s', 'overlays', overlay)]);
    expect(projectImages(overlay)).toEqual(artifacts.map((a) => a.image).sort());
  });

  test('forwards the ingress controller (ingress-nginx) to localhost', () => {
    expect(config.portForward).toContainEqual(
      expect.objectContaining({
        resourceType: 'service',
        namespace: 'ingress-nginx',
        resourceName: 'ingress-nginx-controller',
        port: 80,
      }),
    );
  });
});
