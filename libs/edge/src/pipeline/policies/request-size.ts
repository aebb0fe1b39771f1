// One request size limit (--max-request-bytes) on every surface: a body or message known to be larger is
// refused before anything reads or decodes it.
import { etcdError } from '@cairn/api';
import type { Policy } from '../policy';

export function requestSizePolicy(maxRequestBytes: number): Policy {
  return {
    name: 'request-size',
    admit(request) {
      if (request.requestBytes !== undefined && request.requestBytes > maxRequestBytes) {
        throw etcdError('request-too-large');
      }
    },
  };
}
