#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) that receives the service's outbound mail in the tests.

Usage: smtp_sink.py DIR [--port P] [--tempfail-first N] [--reject-rcpt TEXT]

Listens on 127.0.0.1 (a free port unless --port is given) and prints `READY <port>` once
listening. Each accepted message is written to DIR as NNNN.eml (the bytes as received),
with NNNN.json beside it holding the envelope, and then `RECEIVED <path>` is printed.
--tempfail-first N answers the first N DATA commands with 451 (try again later);
--reject-rcpt TEXT answers RCPT TO for any address containing TEXT with 550.
"""
import argparse
import asyncio
import json
import os

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder, tempfail, reject):
        self.folder = folder
        self.tempfail = tempfail
        self.reject = reject
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return '550 5.1.1 mailbox unavailable'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        if self.tempfail > 0:
            self.tempfail -= 1
            return '451 4.3.0 try again later'
        self.count += 1
        path = os.path.join(self.folder, f'{self.count:04}.eml')
        with open(path + '.part', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        with open(path[:-4] + '.json', 'w') as f:
            json.dump({'mail_from': envelope.mail_from, 'rcpt_tos': envelope.rcpt_tos}, f)
        os.rename(path + '.part', path)
        print(f'RECEIVED {path}', flush=True)
        return '250 2.0.0 OK'


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('folder')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--tempfail-first', type=int, default=0)
    parser.add_argument('--reject-rcpt', default='')
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    sink = Sink(args.folder, args.tempfail_first, args.reject_rcpt)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, enable_SMTPUTF8=True, decode_data=False, hostname='sink.test'),
        '127.0.0.1', args.port)
    print('READY', server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main())
