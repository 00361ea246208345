#!/usr/bin/env python3
"""A real SMTP client (Python's smtplib) that sends one message file to the service.

Usage: smtp_send.py HOST PORT FILE --from ADDR --to ADDR [--to ADDR…] [--starttls]

Prints one JSON line: {"code": 250, "text": "..."} with the server's answer to the
message's end of data, or {"code": N, "text": "...", "stage": "..."} when the server
refused it (at RCPT, DATA, …). Exits 0 either way; only a failure to talk SMTP at all exits 1.
"""
import argparse
import json
import smtplib
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('host')
    parser.add_argument('port', type=int)
    parser.add_argument('file')
    parser.add_argument('--from', dest='sender', default='')
    parser.add_argument('--to', action='append', default=[])
    parser.add_argument('--starttls', action='store_true')
    args = parser.parse_args()
    with open(args.file, 'rb') as f:
        message = f.read()
    with smtplib.SMTP(args.host, args.port, timeout=30) as client:
        client.ehlo('client.test')
        if args.starttls:
            context = ssl.create_default_context()
            # The tests' certificate is self-signed.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client.starttls(context=context)
            client.ehlo('client.test')
        try:
            code, text = client.mail(args.sender)
            if code != 250:
                return report(code, text, 'MAIL')
            for to in args.to:
                code, text = client.rcpt(to)
                if code not in (250, 251):
                    return report(code, text, 'RCPT')
            code, text = client.data(message)
            return report(code, text, 'DATA')
        except smtplib.SMTPResponseException as e:
            return report(e.smtp_code, e.smtp_error, 'DATA')


def report(code, text, stage):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    print(json.dumps({'code': code, 'text': text, 'stage': stage}), flush=True)


if __name__ == '__main__':
    try:
        main()
    except (OSError, smtplib.SMTPException) as e:
        print(json.dumps({'error': str(e)}), flush=True)
        sys.exit(1)
