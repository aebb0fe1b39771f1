// A streaming method whose responses are sometimes encoded ahead of time (a watch event encoded once for every
// stream that carries it): its serializer passes a Buffer through as the message and encodes anything else
// with the method's own protobuf serializer.
import type * as grpc from '@grpc/grpc-js';

export function passEncodedResponses(
  service: grpc.ServiceDefinition,
  methodName: string,
): grpc.ServiceDefinition {
  const method = service[methodName];
  if (method === undefined) throw new Error(`the service has no method ${methodName}`);
  const serialize = method.responseSerialize;
  return {
    ...service,
    [methodName]: {
      ...method,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)),
    },
  };
}
