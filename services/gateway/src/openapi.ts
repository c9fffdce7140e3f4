/**
 * The gateway's OpenAPI 3.1 document, split by audience into the public,
 * private (logged-in user) and admin documents committed in
 * contracts/openapi/. Each route declares its audience with `x-audience`.
 */
export const audiences = ['public', 'private', 'admin'] as const;
export type Audience = (typeof audiences)[number];

// biome-ignore lint/suspicious/noExplicitAny: OpenAPI documents are open-ended JSON
type Json = any;

const titles: Record<Audience, string> = {
  public: 'Wavecast public API',
  private: 'Wavecast API for logged-in users',
  admin: 'Wavecast admin API',
};

function refsIn(value: Json, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) refsIn(v, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.add(v.replace('#/components/schemas/', ''));
      else refsIn(v, out);
    }
  }
}

/** Only the component schemas a document reaches, so none is left unused. */
function reachableSchemas(paths: Json, schemas: Record<string, Json>): Record<string, Json> {
  const seen = new Set<string>();
  const queue = new Set<string>();
  refsIn(paths, queue);
  while (queue.size > 0) {
    const [name] = queue;
    queue.delete(name!);
    if (seen.has(name!) || !schemas[name!]) continue;
    seen.add(name!);
    refsIn(schemas[name!], queue);
  }
  return Object.fromEntries([...seen].sort().map((n) => [n, schemas[n]]));
}

export function splitDocument(full: Json): Record<Audience, Json> {
  const out = {} as Record<Audience, Json>;
  for (const audience of audiences) {
    const paths: Json = {};
    for (const [path, item] of Object.entries<Json>(full.paths ?? {})) {
      for (const [method, op] of Object.entries<Json>(item)) {
        if (op['x-audience'] !== audience) continue;
        const { 'x-audience': _, ...rest } = op;
        paths[path] ??= {};
        paths[path][method] = rest;
      }
    }
    const schemas = reachableSchemas(paths, full.components?.schemas ?? {});
    const usesBearer = JSON.stringify(paths).includes('bearerAuth');
    const tags = [
      ...new Set(
        Object.values<Json>(paths).flatMap((item) =>
          Object.values<Json>(item).flatMap((op) => op.tags ?? []),
        ),
      ),
    ].sort();
    out[audience] = {
      openapi: full.openapi,
      info: { ...full.info, title: titles[audience] },
      servers: full.servers ?? [{ url: '/' }],
      tags: tags.map((name) => full.tags?.find((t: Json) => t.name === name) ?? { name }),
      paths,
      components: {
        ...(Object.keys(schemas).length > 0 && { schemas }),
        ...(usesBearer && { securitySchemes: full.components.securitySchemes }),
      },
    };
  }
  return out;
}
