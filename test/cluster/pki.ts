// The cluster's PKI, made with openssl: one CA, a certificate for every component and
// user, the service-account signing key, and kubeconfigs with the credentials embedded.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { APISERVER_URL, CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME, PKI_DIR } from './config.js';
import { run } from './steps.js';

interface CertSpec {
  name: string;
  /** Subject: CN is the user name, O the groups. */
  cn: string;
  o?: string;
  sans?: string[];
}

export const CERTS: readonly CertSpec[] = [
  {
    name: 'apiserver',
    cn: 'kube-apiserver',
    sans: [
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      `DNS:kubernetes.default.svc.${CLUSTER_DOMAIN}`,
      'DNS:localhost',
      `IP:${KUBERNETES_SERVICE_IP}`,
      `IP:${NODE_IP}`,
      'IP:127.0.0.1',
    ],
  },
  { name: 'apiserver-kubelet-client', cn: 'kube-apiserver-kubelet-client', o: 'system:masters' },
  { name: 'admin', cn: 'kdev-admin', o: 'system:masters' },
  { name: 'controller-manager', cn: 'system:kube-controller-manager' },
  { name: 'scheduler', cn: 'system:kube-scheduler' },
  { name: 'kube-proxy', cn: 'system:kube-proxy' },
  { name: 'kubelet-client', cn: `system:node:${NODE_NAME}`, o: 'system:nodes' },
  { name: 'kubelet-serving', cn: `system:node:${NODE_NAME}`, o: 'system:nodes', sans: [`DNS:${NODE_NAME}`, `IP:${NODE_IP}`, 'IP:127.0.0.1'] },
  // Bound to a ClusterRole by addons/network-policies.yaml.
  { name: 'network-policies', cn: 'kdev:network-policies' },
];

export const pki = (file: string) => join(PKI_DIR, file);

const openssl = (log: string, ...args: string[]) => run('openssl', args, { log });
const ecKey = (log: string, out: string) => openssl(log, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out);

export async function makePki(log: string): Promise<void> {
  mkdirSync(PKI_DIR, { recursive: true, mode: 0o700 });

  await ecKey(log, pki('ca.key'));
  await openssl(log, 'req', '-x509', '-new', '-sha256', '-key', pki('ca.key'), '-subj', '/CN=kdev-local-ca', '-days', '3650', '-out', pki('ca.crt'));
  await ecKey(log, pki('sa.key'));
  await openssl(log, 'ec', '-in', pki('sa.key'), '-pubout', '-out', pki('sa.pub'));

  for (const cert of CERTS) await issueCert(cert, log);
}

async function issueCert(cert: CertSpec, log: string): Promise<void> {
  const key = pki(`${cert.name}.key`);
  const csr = pki(`${cert.name}.csr`);
  const ext = pki(`${cert.name}.ext`);
  await ecKey(log, key);
  const subject = (cert.o ? `/O=${cert.o}` : '') + `/CN=${cert.cn}`;
  await openssl(log, 'req', '-new', '-sha256', '-key', key, '-subj', subject, '-out', csr);
  const lines = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${cert.sans ? 'serverAuth,clientAuth' : 'clientAuth'}`,
  ];
  if (cert.sans) lines.push(`subjectAltName=${cert.sans.join(',')}`);
  writeFileSync(ext, lines.join('\n') + '\n');
  await openssl(log, 'x509', '-req', '-sha256', '-in', csr, '-CA', pki('ca.crt'), '-CAkey', pki('ca.key'), '-CAcreateserial', '-days', '825', '-extfile', ext, '-out', pki(`${cert.name}.crt`));
}

/** Issues one certificate of CERTS if it is missing (a running cluster made before it was listed). */
export async function ensureCert(name: string, log: string): Promise<void> {
  const cert = CERTS.find((c) => c.name === name);
  if (!cert) throw new Error(`no certificate named ${name}`);
  if (!existsSync(pki(`${cert.name}.crt`))) await issueCert(cert, log);
}

/** A kubeconfig for one of the certificates, credentials embedded, pointing at the apiserver. */
export function kubeconfigFor(certName: string, user: string, server = APISERVER_URL): string {
  const b64 = (file: string) => readFileSync(pki(file)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kdev-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(`${certName}.crt`)}`,
    `    client-key-data: ${b64(`${certName}.key`)}`,
    'contexts:',
    '- name: kdev-local',
    '  context:',
    '    cluster: kdev-local',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: kdev-local',
    '',
  ].join('\n');
}

export function writeKubeconfig(path: string, certName: string, user: string): void {
  writeFileSync(path, kubeconfigFor(certName, user), { mode: 0o600 });
}

export function pkiExists(): boolean {
  return existsSync(pki('ca.crt')) && CERTS.every((c) => existsSync(pki(`${c.name}.crt`)));
}
