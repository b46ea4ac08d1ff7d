// Starts a throwaway Neo4j 5.x server (the in-process server of
// org.neo4j.test:neo4j-harness) for tests, with Bolt on a loopback port.
//
// Run as a single-file source program with the classpath that
// build-classpath.sh writes:
//
//   tools/neo4j/build-classpath.sh
//   java -Xmx1g -cp "$(cat tools/neo4j/.classpath)" tools/neo4j/Launcher.java \
//        [--workdir DIR] [--port N] [--user NAME] [--password PW | --password-env VAR]
//        [--ignore-stdin] [--pagecache-mb N]
//
// Once the server accepts Bolt connections it prints, on stdout:
//
//   BOLT_URI bolt://127.0.0.1:PORT
//   NEO4J_VERSION 5.26.x
//   AUTH enabled user=NAME            (or: AUTH disabled)
//   READY
//
// and then runs until its stdin reaches end-of-file (unless --ignore-stdin),
// or it gets SIGTERM / SIGINT; either way it shuts the database down cleanly
// and prints STOPPED. Neo4j's own logs go to files in the work directory, not
// to stdout.
//
// Options:
//   --workdir DIR   parent directory for the server's files; the harness makes
//                   a fresh random sub-directory there (default: a temp dir,
//                   deleted on exit).
//   --port N        Bolt port on 127.0.0.1 (default 0: a free port).
//   --password PW   enable authentication; the user (default "neo4j", see
//                   --user) gets this password, with no change required.
//   --password-env VAR  like --password, but read the password from the
//                   environment variable VAR (keeps it out of `ps` output).
//   --user NAME     user name for --password (default "neo4j").
//   --ignore-stdin  do not stop at end-of-file on stdin; wait for a signal.
//   --pagecache-mb N  page cache size in MiB (default 64).

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilder;
import org.neo4j.harness.Neo4jBuilders;

public class Launcher {

    private static final Object LOCK = new Object();
    private static Neo4j server;
    private static boolean stopped;
    private static Path tempDirToDelete;

    public static void main(String[] args) throws Exception {
        Options opts;
        try {
            opts = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("Launcher: " + e.getMessage());
            System.exit(2);
            return;
        }

        Path parent;
        if (opts.workdir != null) {
            parent = opts.workdir.toAbsolutePath();
            Files.createDirectories(parent);
        } else {
            parent = Files.createTempDirectory("neo4j-test-");
            tempDirToDelete = parent;
        }

        // Stop cleanly on SIGTERM / SIGINT (the JVM runs shutdown hooks for both).
        Runtime.getRuntime().addShutdownHook(new Thread(Launcher::stop, "neo4j-launcher-shutdown"));

        Neo4jBuilder builder = Neo4jBuilders.newInProcessBuilder(parent)
                .withDisabledServer() // no HTTP/HTTPS connectors, Bolt only
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", opts.port))
                .withConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", opts.port))
                .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .withConfig(GraphDatabaseSettings.auth_enabled, opts.password != null)
                .withConfig(GraphDatabaseSettings.auth_minimum_password_length, 1)
                // No lock-out after failed logins (default: 3 failures lock the user
                // for 5 s), so wrong-password tests cannot break the tests after them.
                .withConfig(GraphDatabaseSettings.auth_max_failed_attempts, 0)
                .withConfig(GraphDatabaseSettings.pagecache_memory, opts.pagecacheMb * 1024L * 1024L)
                // Small, non-preallocated transaction logs: keeps the disk footprint tiny.
                .withConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .withConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 16L * 1024 * 1024)
                .withConfig(GraphDatabaseSettings.log_queries, GraphDatabaseSettings.LogQueryLevel.OFF)
                // Bolt's two netty event-loop groups each wait a 5 s "quiet period"
                // on shutdown by default, which makes every stop take ~10 s.
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5));

        Neo4j started;
        try {
            started = builder.build();
        } catch (Throwable t) {
            System.err.println("Launcher: Neo4j failed to start: " + t);
            t.printStackTrace(System.err);
            System.exit(1);
            return;
        }
        synchronized (LOCK) {
            server = started;
            if (stopped) { // a signal arrived while we were starting
                closeQuietly(started);
                return;
            }
        }

        try {
            if (opts.password != null) {
                setUpUser(started, opts.user, opts.password);
            }
            String version = neo4jVersion(started.defaultDatabaseService());

            // The harness reports the port actually bound (relevant for --port 0).
            int port = started.boltURI().getPort();
            System.out.println("BOLT_URI bolt://127.0.0.1:" + port);
            System.out.println("NEO4J_VERSION " + version);
            System.out.println(opts.password != null ? "AUTH enabled user=" + opts.user : "AUTH disabled");
            System.out.println("READY");
            System.out.flush();
        } catch (Throwable t) {
            System.err.println("Launcher: setting up the server failed: " + t);
            t.printStackTrace(System.err);
            System.exit(1); // shutdown hook closes the server
            return;
        }

        if (opts.ignoreStdin) {
            new CountDownLatch(1).await(); // until a signal ends the JVM
        } else {
            waitForStdinEof();
            System.exit(0); // runs the shutdown hook, which stops Neo4j
        }
    }

    /** Gives the user the password (creating the user if it is not "neo4j"), no change required. */
    private static void setUpUser(Neo4j neo4j, String user, String password) {
        GraphDatabaseService system = neo4j.databaseManagementService().database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        Map<String, Object> params = Map.of("user", user, "password", password);
        boolean exists = system.executeTransactionally(
                "SHOW USERS YIELD user WHERE user = $user RETURN count(*) AS n",
                params,
                r -> ((Number) r.next().get("n")).longValue() > 0);
        if (exists) {
            system.executeTransactionally(
                    "ALTER USER $user SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED", params);
        } else {
            system.executeTransactionally(
                    "CREATE USER $user SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED", params);
        }
    }

    private static String neo4jVersion(GraphDatabaseService db) {
        return db.executeTransactionally(
                "CALL dbms.components() YIELD name, versions WHERE name = 'Neo4j Kernel' RETURN versions[0] AS v",
                Map.of(),
                r -> r.hasNext() ? String.valueOf(r.next().get("v")) : "unknown");
    }

    private static void waitForStdinEof() {
        InputStream in = System.in;
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // discard
            }
        } catch (IOException e) {
            // treat a broken stdin like end-of-file
        }
    }

    private static void stop() {
        Neo4j toClose;
        synchronized (LOCK) {
            if (stopped) {
                return;
            }
            stopped = true;
            toClose = server;
        }
        if (toClose != null) {
            closeQuietly(toClose);
            System.out.println("STOPPED");
            System.out.flush();
        }
        if (tempDirToDelete != null) {
            deleteTree(tempDirToDelete);
        }
    }

    private static void closeQuietly(Neo4j neo4j) {
        try {
            neo4j.close();
        } catch (Throwable t) {
            System.err.println("Launcher: error while stopping Neo4j: " + t);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static final class Options {
        Path workdir;
        int port = 0;
        String user = "neo4j";
        String password;
        boolean ignoreStdin;
        long pagecacheMb = 64;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--workdir" -> o.workdir = Path.of(value(args, ++i, a));
                    case "--port" -> o.port = Integer.parseInt(value(args, ++i, a));
                    case "--user" -> o.user = value(args, ++i, a);
                    case "--password" -> o.password = value(args, ++i, a);
                    case "--password-env" -> {
                        String var = value(args, ++i, a);
                        o.password = System.getenv(var);
                        if (o.password == null) {
                            throw new IllegalArgumentException("environment variable " + var + " is not set");
                        }
                    }
                    case "--ignore-stdin" -> o.ignoreStdin = true;
                    case "--pagecache-mb" -> o.pagecacheMb = Long.parseLong(value(args, ++i, a));
                    default -> throw new IllegalArgumentException("unknown argument: " + a);
                }
            }
            if (o.port < 0 || o.port > 65535) {
                throw new IllegalArgumentException("--port out of range: " + o.port);
            }
            if (o.password != null && o.password.isEmpty()) {
                throw new IllegalArgumentException("--password must not be empty");
            }
            return o;
        }

        private static String value(String[] args, int i, String name) {
            if (i >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            return args[i];
        }
    }
}
