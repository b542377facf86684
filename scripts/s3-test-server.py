#!/usr/bin/env python3
"""Starts moto_server on 127.0.0.1 with signature checking on, creates an IAM user with an
access key (the first INITIAL_NO_AUTH_ACTION_COUNT requests go unchecked: exactly those),
prints one JSON line {endpoint, access_key_id, secret_access_key, region, pid} and stays in
the foreground until killed; moto dies with it. Used by the tests and the benchmark.

    scripts/s3-test-server.py [PORT]   (default: a free port)
"""
import json, os, signal, socket, subprocess, sys, time, urllib.request

NO_AUTH_SETUP_CALLS = 3  # CreateUser, PutUserPolicy, CreateAccessKey


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    # A test runner may start us from a thread that blocks SIGTERM; the mask is inherited.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    port = int(sys.argv[1]) if len(sys.argv) > 1 else free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(NO_AUTH_SETUP_CALLS), MOTO_ALLOW_NONEXISTENT_REGION="true")
    # moto checks a signature against the query werkzeug decoded, so a listing whose prefix
    # holds a "/" fails for every client; s3-test-server.d/sitecustomize.py puts the query back
    # in SigV4's canonical form first. The check stays on.
    fix = os.path.join(os.path.dirname(os.path.abspath(__file__)), "s3-test-server.d")
    env["PYTHONPATH"] = fix + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(*_):
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except Exception:
            if server.poll() is not None:
                sys.exit("moto_server exited at start")
            time.sleep(0.05)
    import boto3
    iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id="setup", aws_secret_access_key="setup",
                       region_name="us-east-1")
    iam.create_user(UserName="barge")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="barge", PolicyName="all", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="barge")["AccessKey"]
    # The test process that started us may die without stopping us: then stop moto too.
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent or server.poll() is not None:
                stop()

    import threading
    threading.Thread(target=watch, daemon=True).start()
    print(json.dumps({"endpoint": endpoint, "access_key_id": key["AccessKeyId"],
                      "secret_access_key": key["SecretAccessKey"], "region": "us-east-1", "pid": server.pid}), flush=True)
    server.wait()


if __name__ == "__main__":
    main()
