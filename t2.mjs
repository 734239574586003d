import { connectNats, NatsChannel, startNatsServer } from '@shmkit/nats';
const srv = await startNatsServer();
const nc = await connectNats(srv.url);
const m=new Uint8Array(64);
const dd = await NatsChannel.open(nc, 'dd.q', {durable:true});
const M=20000; let t=performance.now();
const arr=[]; for(let i=0;i<M;i++) arr.push(m);
await dd.sendMany(arr);
console.log('durable send msgs/s', M/(performance.now()-t)*1000);
t=performance.now();
let n=0; for(;;){const b=await dd.recvMany(256); n+=b.length; if(n>=M) break;}
console.log('durable recv msgs/s', M/(performance.now()-t)*1000);
await nc.close(); await srv.stop();
