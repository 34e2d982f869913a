const t0=performance.now();
const what=process.argv[2];
if(what==='fetch'){ await fetch('http://127.0.0.1:1').catch(()=>{}); }
else await import(what);
console.log(what, (performance.now()-t0).toFixed(1));
