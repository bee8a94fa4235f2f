// The peer of the side-by-side benchmark (benchmarks/peer.py): PostGraphile 4 in library
// mode on the benchmark's database, with @graphile/postgis and the connection-filter plugins,
// configured as one would for a read-heavy production API (no mutations, no query log, no
// schema watching, the schema introspected once). It answers POST /graphql only.
//
// Environment: DATABASE_URL (postgres://...), PORT, WORKERS (node:cluster processes, each
// with its own pool; default 1), POOL_SIZE (connections per process; default 10, pg's own).
// Each process prints "postgraphile ready <pid>" once it listens.
"use strict";

const cluster = require("node:cluster");
const http = require("node:http");
const { Pool } = require("pg");
const { postgraphile } = require("postgraphile");
const PostgisPlugin = require("@graphile/postgis").default;
const ConnectionFilterPlugin = require("postgraphile-plugin-connection-filter");
const PostgisFilterPlugin = require("postgraphile-plugin-connection-filter-postgis");

const workers = Number(process.env.WORKERS || 1);
const port = Number(process.env.PORT || 5000);

function serve() {
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.POOL_SIZE || 10),
  });
  const handler = postgraphile(pool, ["public"], {
    appendPlugins: [PostgisPlugin, ConnectionFilterPlugin, PostgisFilterPlugin],
    graphileBuildOptions: {
      connectionFilterRelations: false,
      connectionFilterComputedColumns: false,
      connectionFilterSetofFunctions: false,
    },
    disableDefaultMutations: true,
    disableQueryLog: true,
    watchPg: false,
    dynamicJson: true,
    setofFunctionsContainNulls: false,
    ignoreRBAC: true,
    retryOnInitFail: false,
    graphiql: false,
  });
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60000;
  server.listen(port, "127.0.0.1", () => {
    // The schema is built on the first request unless asked for now: build it before
    // saying ready, so that no measured request pays for the introspection.
    handler.getGraphQLSchema().then(
      () => console.log(`postgraphile ready ${process.pid}`),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))));
}

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (code) console.error(`worker ${worker.process.pid} exited with ${code}`);
  });
  process.on("SIGTERM", () => {
    // The primary holds the listening socket: it leaves once its workers have.
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
    });
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
  });
} else {
  serve();
}
