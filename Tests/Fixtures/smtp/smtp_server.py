#!/usr/bin/env python3
"""A real SMTP server for Tocsin's e-mail sink tests, started by Tests/TocsinTestSupport/SMTPTestServer.swift.

It listens on a free port of 127.0.0.1 and writes one JSON object per line on stdout:
  {"event":"ready","port":N}                      once listening
  {"event":"ehlo","tls":bool,"name":"..."}        each EHLO (aiosmtpd mode)
  {"event":"auth","mechanism":"PLAIN","tls":bool,"success":bool}
  {"event":"message","mail_from":"...","rcpt_tos":[...],"data":"<base64 of the received bytes>",
   "tls":bool,"authenticated":bool}               each accepted message (after dot-unstuffing)
  {"event":"command","line":"..."}                each command line (scripted mode)
  {"event":"missing","name":"aiosmtpd"}           then exit status 3, when a module is not installed

Modes:
  smtp      aiosmtpd with --security starttls (STARTTLS required), implicit (TLS from the first byte) or none;
            AUTH required when --user/--password are given, offering --mechanisms.
            Recipients whose local part is "refused" get 550, "busy" get 451. A sender whose local part is
            "tempfail-mail" / "reject-mail" is refused at MAIL FROM (451 / 553); "tempfail-data" / "reject-data"
            at the end of data (451 / 554). With --echo-secrets every refusal and success quotes the credentials
            it received, plain and base64, as a careless server might.
  scripted  a plain-text server answering from --script, a JSON object: "greeting" (null: say nothing at all),
            and one reply per command verb ("EHLO", "STARTTLS", ...; "*" for any other; "" for none). A reply is sent as one
            write, so "220 Go ahead\\r\\n250 injected" sends a second reply right behind the first.
  silent    accepts connections and never answers.
"""
import argparse
import asyncio
import base64
import json
import os
import ssl
import sys


def emit(**fields):
    sys.stdout.write(json.dumps(fields, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def is_tls(server):
    transport = getattr(server, "transport", None)
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def local_part(address):
    return (address or "").split("@", 1)[0].lower()


def smtp_mode(args):
    try:
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
    except ImportError:
        emit(event="missing", name="aiosmtpd")
        sys.exit(3)

    user = args.user.encode() if args.user is not None else None
    password = args.password.encode() if args.password is not None else None

    def echo(session):
        data = getattr(session, "auth_data", None)
        if not args.echo_secrets or not isinstance(data, LoginPassword):
            return ""
        login, secret = data.login, data.password
        plain = base64.b64encode(b"\0" + login + b"\0" + secret).decode()
        return " (you sent user={} password={} plain={} user64={} password64={})".format(
            login.decode(errors="replace"), secret.decode(errors="replace"), plain,
            base64.b64encode(login).decode(), base64.b64encode(secret).decode())

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            emit(event="ehlo", tls=is_tls(server), name=hostname)
            session.host_name = hostname
            return responses

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            part = local_part(address)
            if part == "tempfail-mail":
                return "451 4.3.0 Sender temporarily refused" + echo(session)
            if part == "reject-mail":
                return "553 5.7.1 Sender address refused" + echo(session)
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 2.1.0 OK"

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            part = local_part(address)
            if part == "refused":
                return "550 5.1.1 <{}>: Recipient address rejected: User unknown{}".format(address, echo(session))
            if part == "busy":
                return "451 4.3.0 <{}>: Temporary lookup failure{}".format(address, echo(session))
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            part = local_part(envelope.mail_from)
            if part == "tempfail-data":
                return "451 4.3.0 Queue temporarily unavailable" + echo(session)
            if part == "reject-data":
                return "554 5.6.0 Message content rejected" + echo(session)
            emit(event="message", mail_from=envelope.mail_from, rcpt_tos=envelope.rcpt_tos,
                 data=base64.b64encode(envelope.original_content).decode(), tls=is_tls(server),
                 authenticated=bool(session.authenticated))
            return "250 2.0.0 OK queued" + echo(session)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        emit(event="auth", mechanism=mechanism, tls=is_tls(server), success=ok)
        if ok:
            session.auth_data = auth_data
            return AuthResult(success=True, auth_data=auth_data,
                              message=("235 2.7.0 Authentication successful" + echo(session)) if args.echo_secrets else None)
        if args.echo_secrets and isinstance(auth_data, LoginPassword):
            session.auth_data = auth_data
            message = "535 5.7.8 Authentication credentials invalid" + echo(session)
            session.auth_data = None
            return AuthResult(success=False, handled=False, message=message)
        return AuthResult(success=False, handled=False)

    tls_context = None
    if args.security != "none":
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    offered = {m.upper() for m in args.mechanisms.split(",") if m}
    kwargs = dict(
        hostname="smtp.tocsin.test",
        auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in offered],
    )
    if user is not None:
        kwargs.update(auth_required=True, authenticator=authenticator)
    if args.security == "starttls":
        kwargs.update(tls_context=tls_context, require_starttls=True)
    elif args.security == "implicit":
        # aiosmtpd only counts STARTTLS as TLS for AUTH; the whole connection is TLS here.
        kwargs.update(auth_require_tls=False)
    else:
        kwargs.update(auth_require_tls=False)

    def factory():
        return SMTP(Handler(), **kwargs)

    return factory, (tls_context if args.security == "implicit" else None)


def scripted_mode(args):
    script = json.loads(args.script)

    class Scripted(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.buffer = b""
            greeting = script.get("greeting", "220 scripted.tocsin.test ESMTP")
            if greeting is not None:
                self.send(greeting)

        def send(self, reply):
            self.transport.write(reply.replace("\r\n", "\n").replace("\n", "\r\n").encode() + b"\r\n")

        def data_received(self, data):
            self.buffer += data
            while b"\r\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\r\n", 1)
                text = line.decode(errors="replace")
                emit(event="command", line=text)
                verb = text.split(" ", 1)[0].upper()
                if verb == "QUIT":
                    self.send(script.get("QUIT", "221 2.0.0 Bye"))
                    self.transport.close()
                    return
                reply = script.get(verb, script.get("*", "502 5.5.1 Command not implemented"))
                if reply:
                    self.send(reply)

    return Scripted, None


def silent_mode(args):
    class Silent(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            emit(event="connection")

        def data_received(self, data):
            pass

    return Silent, None


async def watch_parent(parent):
    # The test process may die without stopping its server: do not outlive it.
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    os._exit(0)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["smtp", "scripted", "silent"])
    parser.add_argument("--security", choices=["starttls", "implicit", "none"], default="starttls")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--mechanisms", default="PLAIN,LOGIN")
    parser.add_argument("--echo-secrets", action="store_true")
    parser.add_argument("--script", default="{}")
    args = parser.parse_args()
    parent = os.getppid()

    make = {"smtp": smtp_mode, "scripted": scripted_mode, "silent": silent_mode}[args.mode]
    factory, server_ssl = make(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=0, ssl=server_ssl)
    emit(event="ready", port=server.sockets[0].getsockname()[1])
    await watch_parent(parent)


if __name__ == "__main__":
    asyncio.run(main())
