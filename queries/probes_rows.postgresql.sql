SELECT model.name AS model, method.name AS method, method.params AS params, layer.site AS site, layer.index AS layer, probe_result.task AS task, probe_result.metric AS metric, probe_result.value AS value 
FROM probe_result JOIN run ON run.id = probe_result.run_id JOIN model ON model.id = run.model_id JOIN layer ON layer.id = probe_result.layer_id JOIN method ON method.id = probe_result.method_id 
WHERE probe_result.run_id IN (__[POSTCOMPILE_run_id_1]) AND layer.index < %(index_1)s::INTEGER AND probe_result.task = %(param_1)s::VARCHAR ORDER BY model.name COLLATE "C", method.name COLLATE "C", method.id, layer.site COLLATE "C", layer.index, probe_result.task COLLATE "C", probe_result.metric COLLATE "C" 
 LIMIT %(param_2)s::INTEGER
-- parameters: {'run_id_1': [5], 'index_1': 2, 'param_1': 'upos', 'param_2': 10001}
-- score sets read:
-- probes of minilm: run 5
