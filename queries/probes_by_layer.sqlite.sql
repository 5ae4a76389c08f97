SELECT model.name AS model, method.name AS method, method.params AS params, layer.site AS site, layer."index" AS layer, probe_result.task AS task, probe_result.metric AS metric, probe_result.value AS value 
FROM probe_result JOIN run ON run.id = probe_result.run_id JOIN model ON model.id = run.model_id JOIN layer ON layer.id = probe_result.layer_id JOIN method ON method.id = probe_result.method_id 
WHERE probe_result.run_id IN (__[POSTCOMPILE_run_id_1]) AND layer."index" BETWEEN ? AND ? AND probe_result.task = ? AND probe_result.metric != ? ORDER BY model.name, method.name, method.id, layer.site, layer."index", probe_result.task, probe_result.metric
 LIMIT ? OFFSET ?
-- parameters: {'run_id_1': [2, 4], 'index_1': 1, 'index_2': 2, 'param_1': 'negation', 'param_2': 'majority', 'param_3': 10001, 'param_4': 0}
-- score sets read:
-- probes of bert: run 2
-- probes of gpt2: run 4
