import { existsSync } from 'node:fs';
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

  test('one artifact per service and one for the shop: its Dockerfile, built from the repository root', () => {
    expect(config.build.artifacts).toEqual(
      [...serviceNames, webName].map((service) => ({
        image: imageName(service),
        context: '.',
        docker: { dockerfile: `services/${service}/Dockerfile` },
      })),
    );
    for (const artifact of config.build.artifacts) {
      expect(existsSync(repoPath(artifact.docker!.dockerfile!))).toBe(true);
    }
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
